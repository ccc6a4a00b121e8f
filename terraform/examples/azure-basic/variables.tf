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

variable "clearml_api_host" {
  description = "The three-value deploy: the ClearML API server (what CLEARML_API_HOST holds for the SDK), e.g. https://api.clearml.example.com. With the key pair below and no config_file, the configuration is these three values and the storage credentials come from ClearML's Storage Credentials page (storage.get_settings), refreshed without a redeploy."
  type        = string
  default     = null
}

variable "clearml_api_access_key" {
  description = "The three-value deploy: the access key of a ClearML service account's API credentials (CLEARML_API_ACCESS_KEY)."
  type        = string
  default     = null
  sensitive   = true
}

variable "clearml_api_secret_key" {
  description = "The three-value deploy: the secret key of that key pair (CLEARML_API_SECRET_KEY)."
  type        = string
  default     = null
  sensitive   = true
}

variable "config_file" {
  description = "Instead of the three values: the path of a whole storagegate configuration document (YAML or JSON; README \"Configuration\") to store in Key Vault. Never commit it."
  type        = string
  default     = null

  validation {
    condition     = var.config_file == null || try(fileexists(var.config_file), false)
    error_message = "config_file names no file."
  }

  validation {
    condition     = (var.config_file != null) != (var.clearml_api_host != null && var.clearml_api_access_key != null && var.clearml_api_secret_key != null)
    error_message = "Give either the three values (clearml_api_host, clearml_api_access_key, clearml_api_secret_key) or config_file, not both."
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
