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

  config = local.config

  artifact_bucket_arns = var.artifact_bucket_arns
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
