# storagegate on AWS with the bare Lambda function URL: for scripts, notebooks and API clients, which
# send `Authorization: Bearer <ClearML token>` or Basic ClearML API keys. Browsers need a custom domain
# (the ClearML cookie never reaches *.lambda-url.*.on.aws): see ../aws-custom-domain.

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
}
