variable "region" {
  description = "AWS region of the functions and queues, e.g. eu-west-1. The certificate is in us-east-1 whatever this is."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name; unique per account (IAM role names are global)."
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
  description = "Instead of the three values: the path of a whole storagegate configuration document (YAML or JSON; README \"Configuration\") to store in Secrets Manager. Never commit it."
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

variable "architecture" {
  description = "\"arm64\" or \"x86_64\"; picks the matching zips from bin/package/."
  type        = string
  default     = "arm64"
}

variable "artifact_bucket_arns" {
  description = "Bucket ARNs (arn:aws:s3:::<bucket>) the functions' roles may read and delete in, for config entries with use_credentials_chain. Empty when every entry carries its own keys."
  type        = list(string)
  default     = []
}

variable "domain_name" {
  description = "Host name presign is served on: a subdomain of the ClearML web app's domain, e.g. presign.clearml.example.com, so that the browser sends it the ClearML session cookie."
  type        = string
}

variable "acm_certificate_arn" {
  description = "ARN of an issued ACM certificate covering domain_name, in us-east-1 (the only region CloudFront takes certificates from)."
  type        = string
}

variable "cors_allowed_origins" {
  description = "Exact origins allowed to call the JSON and batch forms from a page (e.g. the ClearML web app, https://app.clearml.example.com); keep equal to presign.cors_origins in the config. Plain links and redirects need none."
  type        = list(string)
  default     = []
}
