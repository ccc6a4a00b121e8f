variable "project" {
  description = "Google Cloud project id to deploy into."
  type        = string
}

variable "region" {
  description = "Region of the functions, e.g. europe-west1."
  type        = string
  default     = "europe-west1"
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
  description = "Instead of the three values: the path of a whole storagegate configuration document (YAML or JSON; README \"Configuration\") to store in Secret Manager. Never commit it."
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
