variable "region" {
  description = "AWS region of the functions and queues, e.g. eu-west-1."
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
