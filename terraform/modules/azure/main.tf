# storagegate on Azure: one Linux function app running the custom handler (function.tf) with its three
# functions, Presign (anonymous HTTP), Cleanup (queue trigger) and Sweep (timer, sweep.tf); its
# user-assigned identity, the key vault holding the configuration and every role assignment
# (identity.tf); an optional custom host name for browsers (domain.tf); and here the app's storage
# account, the cleanup queues and the package.

data "azurerm_client_config" "current" {}

locals {
  # Function app, storage account and key vault names are global. A suffix derived from where the
  # module is deployed keeps them unique without the random provider and stable across applies.
  suffix = substr(sha256("${data.azurerm_client_config.current.subscription_id}/${var.resource_group_name}/${var.name}"), 0, 6)

  function_app_name    = "${var.name}-${local.suffix}"
  storage_account_name = "${substr(replace(var.name, "-", ""), 0, 18)}${local.suffix}"
  key_vault_name       = "${trimsuffix(substr(var.name, 0, 17), "-")}-${local.suffix}"

  # Fixed by the package, not configurable: Cleanup/function.json binds its queueTrigger to the queue
  # "storagegate-cleanup" in the AzureWebJobsStorage account. The host moves a message that failed
  # host.json's maxDequeueCount (5) times to "<queue>-poison".
  cleanup_queue_name = "storagegate-cleanup"
  poison_queue_name  = "${local.cleanup_queue_name}-poison"

  # A missing package is refused by the variable's validation; try() only keeps tools that evaluate
  # the module before `make package` has run (linters) from failing on the file functions.
  package_sha256 = try(filesha256(var.package_zip), "missing")
  package_md5    = try(filemd5(var.package_zip), null)

  # Presign's function.json routes "{*path}" and host.json sets routePrefix "": no "/api" prefix.
  presign_host = var.custom_hostname != null ? var.custom_hostname : azurerm_linux_function_app.this.default_hostname
  presign_url  = "https://${local.presign_host}/presign"
}

################################################################################
# The app's own storage account (AzureWebJobsStorage)
################################################################################

# Holds the Functions host's state (leases, timers), the cleanup queue and its poison queue, and the
# deployment package. Nothing in it is public.
resource "azurerm_storage_account" "this" {
  name                     = local.storage_account_name
  resource_group_name      = var.resource_group_name
  location                 = var.location
  account_tier             = "Standard"
  account_replication_type = "LRS"

  https_traffic_only_enabled      = true
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
  # The Functions host reaches AzureWebJobsStorage (and so the queue trigger) with the account's
  # connection string, which needs Shared Key; Terraform also uploads the package with the key.
  shared_access_key_enabled = true

  tags = var.tags
}

resource "azurerm_storage_queue" "cleanup" {
  name               = local.cleanup_queue_name
  storage_account_id = azurerm_storage_account.this.id
}

# The host would create the poison queue on the first message it gives up on; created here it exists
# from the start, so its length can be monitored and alerted on before anything has failed.
resource "azurerm_storage_queue" "poison" {
  name               = local.poison_queue_name
  storage_account_id = azurerm_storage_account.this.id
}

################################################################################
# Deployment package
################################################################################

# The package runs from an external URL (WEBSITE_RUN_FROM_PACKAGE = this blob), fetched with the
# app's identity. Microsoft documents that as the only deployment for a locally built package on
# Linux Consumption, which has no Kudu (scm) site for zip deploy; see README "Deployment".
resource "azurerm_storage_container" "packages" {
  name                  = "function-releases"
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_blob" "package" {
  # The content hash in the name makes every new build a new URL: the app setting changes, the app
  # restarts on the new package, and a rollback is an apply with the older zip.
  name                 = "storagegate-${local.package_sha256}.zip"
  storage_container_id = azurerm_storage_container.packages.id
  type                 = "Block"
  source               = var.package_zip
  content_md5          = local.package_md5
  content_type         = "application/zip"

  lifecycle {
    # The app must never point at a deleted blob: upload the new package, repoint the app, then delete
    # the old one.
    create_before_destroy = true
  }
}
