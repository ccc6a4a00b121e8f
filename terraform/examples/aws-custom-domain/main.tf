# storagegate on AWS behind CloudFront on a domain of yours, for browsers. A browser sends the ClearML
# session cookie only to hosts under the ClearML domain (SameSite=Lax: same-site requests only), so
# presign must live on e.g. presign.clearml.example.com, and the ClearML server's cookie domain must be
# the parent domain (.clearml.example.com) for the web app's cookie to be sent there at all.
# Scripts sending Authorization keep working on both the custom domain and the bare function URL.

locals {
  # `make package` names the zips after Go's GOARCH.
  package_arch = var.architecture == "x86_64" ? "amd64" : "arm64"
  package_dir  = "${path.module}/../../../bin/package"
}

module "storagegate" {
  source = "../../modules/aws"

  name         = var.name
  architecture = var.architecture
  presign_zip  = "${local.package_dir}/presign-lambda-${local.package_arch}.zip"
  cleanup_zip  = "${local.package_dir}/cleanup-lambda-${local.package_arch}.zip"

  config = local.config

  artifact_bucket_arns = var.artifact_bucket_arns
  cors_allowed_origins = var.cors_allowed_origins

  custom_domain = {
    domain_name         = var.domain_name
    acm_certificate_arn = var.acm_certificate_arn
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
