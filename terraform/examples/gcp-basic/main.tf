module "storagegate" {
  source = "../../modules/gcp"

  project = var.project
  region  = var.region

  # Built by `make package` at the repository root.
  source_zip = "${path.module}/../../../bin/package/gcp-source.zip"
  # The config_file validation stops a run without the file; the fallback only lets linters that
  # evaluate this expression without the (never committed) config file pass.
  config = fileexists(var.config_file) ? file(var.config_file) : null

  artifact_buckets = var.artifact_buckets
  custom_domain    = var.custom_domain

  labels = {
    app = "storagegate"
  }
}
