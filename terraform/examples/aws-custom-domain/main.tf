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

  # The variable's validation already refused a missing file with a clear message; the fallback only
  # lets linters that evaluate this expression without the (never committed) config file pass.
  config = fileexists(var.config_file) ? file(var.config_file) : null

  artifact_bucket_arns = var.artifact_bucket_arns
  cors_allowed_origins = var.cors_allowed_origins

  custom_domain = {
    domain_name         = var.domain_name
    acm_certificate_arn = var.acm_certificate_arn
  }
}
