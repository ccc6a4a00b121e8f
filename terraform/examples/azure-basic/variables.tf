variable "location" {
  description = "Azure region of the deployment."
  type        = string
  default     = "westeurope"
}

variable "resource_group_name" {
  description = "Name of the resource group the example creates for storagegate."
  type        = string
  default     = "storagegate"
}

variable "name" {
  description = "Prefix of every resource name (the module adds a stable suffix to the globally unique ones)."
  type        = string
  default     = "storagegate"
}

variable "config_file" {
  description = "Path of the storagegate configuration document (README \"Configuration\"); it is stored in Key Vault."
  type        = string
  default     = "storagegate.yaml"

  validation {
    condition     = fileexists(var.config_file)
    error_message = "config_file names no file: write the storagegate configuration to storagegate.yaml here (never commit it), or point config_file at it."
  }
}

variable "artifact_containers" {
  description = "Blob containers (storage account resource ID and container name) the functions may read and delete in with their managed identity: the containers of the config entries that have no account_key."
  type = list(object({
    storage_account_id = string
    container_name     = string
  }))
  default = []
}

variable "custom_hostname" {
  description = "Optional host name on the ClearML domain for browser use, e.g. presign.clearml.example.com (create its CNAME and asuid TXT records first, see the module README)."
  type        = string
  default     = null
}
