variable "region" {
  description = "AWS region of the functions and queues, e.g. eu-west-1. The certificate is in us-east-1 whatever this is."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name; unique per account (IAM role names are global)."
  type        = string
  default     = "storagegate"
}

variable "config_file" {
  description = "Path of the storagegate configuration document (YAML or JSON) to store in Secrets Manager."
  type        = string
  default     = "storagegate.yaml"

  validation {
    condition     = fileexists(var.config_file)
    error_message = "config_file names no file: write the storagegate configuration to storagegate.yaml here (never commit it), or point config_file at it."
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
