variable "project" {
  description = "Google Cloud project id to deploy into."
  type        = string
}

variable "region" {
  description = "Region of the functions, e.g. europe-west1."
  type        = string
  default     = "europe-west1"
}

variable "config_file" {
  description = "Path of the storagegate configuration (YAML or JSON); the module stores its content in Secret Manager."
  type        = string
  default     = "storagegate.yaml"

  validation {
    condition     = fileexists(var.config_file)
    error_message = "config_file names no file: write the storagegate configuration to storagegate.yaml here (never commit it), or point config_file at it."
  }
}

variable "artifact_buckets" {
  description = "Cloud Storage buckets holding ClearML artifacts: presign may read them, cleanup may delete in them."
  type        = set(string)
  default     = []
}

variable "custom_domain" {
  description = "Optional host under the ClearML domain (e.g. presign.clearml.example.com) for browser use; null for none."
  type        = string
  default     = null
}
