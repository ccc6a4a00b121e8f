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
  # The config_file validation stops a run without the file; the fallback only lets linters that
  # evaluate this expression without the (never committed) config file pass.
  config = fileexists(var.config_file) ? file(var.config_file) : null

  artifact_containers = var.artifact_containers
  custom_hostname     = var.custom_hostname
}
