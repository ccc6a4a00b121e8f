resource "azurerm_resource_group" "this" {
  name     = var.resource_group_name
  location = var.location
}

module "storagegate" {
  source = "../../modules/azure"

  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  name                = var.name

  # Built by `make package` at the repository root.
  package_zip = "${path.module}/../../../bin/package/azure-app.zip"
  config      = local.config

  artifact_containers = var.artifact_containers
  custom_hostname     = var.custom_hostname
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
