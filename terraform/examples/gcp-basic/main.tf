module "storagegate" {
  source = "../../modules/gcp"

  project = var.project
  region  = var.region

  # Built by `make package` at the repository root.
  source_zip = "${path.module}/../../../bin/package/gcp-source.zip"
  config     = local.config

  artifact_buckets = var.artifact_buckets
  custom_domain    = var.custom_domain

  labels = {
    app = "storagegate"
  }
}

locals {
  # The three-value deploy, as ClearML's own presign service is installed: the document holds only where the
  # ClearML API is and a service key pair, and storage.from_clearml (on by default then) takes the storage
  # credentials from ClearML. The values go to the secret store with the rest of the document, never to plain
  # environment variables. With config_file, its content is the document.
  config = var.config_file == null ? jsonencode({
    clearml = {
      api_server = var.clearml_api_host
      access_key = var.clearml_api_access_key
      secret_key = var.clearml_api_secret_key
    }
  }) : file(var.config_file)
}
