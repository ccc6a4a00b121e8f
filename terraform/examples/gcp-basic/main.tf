module "storagegate" {
  source = "../../modules/gcp"

  project = var.project
  region  = var.region

  # Built by `make package` at the repository root.
  source_zip = "${path.module}/../../../bin/package/gcp-source.zip"
  config     = file(var.config_file)

  artifact_buckets = var.artifact_buckets
  custom_domain    = var.custom_domain

  labels = {
    app = "storagegate"
  }
}
