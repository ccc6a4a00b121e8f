################################################################################
# Function app
################################################################################

resource "azurerm_service_plan" "this" {
  name                = "${var.name}-plan"
  resource_group_name = var.resource_group_name
  location            = var.location
  os_type             = "Linux"
  sku_name            = var.sku
  tags                = var.tags
}

# One app holds the three functions of the package: Presign (anonymous HTTP trigger on "{*path}"; the
# ClearML check is the authentication), Cleanup (queue trigger on storagegate-cleanup) and Sweep (a
# timer on STORAGEGATE_SWEEP_SCHEDULE, disabled unless sweep_schedule is set).
resource "azurerm_linux_function_app" "this" {
  name                = local.function_app_name
  resource_group_name = var.resource_group_name
  location            = var.location
  service_plan_id     = azurerm_service_plan.this.id

  # AzureWebJobsStorage: the provider writes the account's connection string into that app setting;
  # the Functions host uses it for its own state and for the Cleanup queue trigger.
  storage_account_name       = azurerm_storage_account.this.name
  storage_account_access_key = azurerm_storage_account.this.primary_access_key

  https_only                                     = true
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false # nothing is pushed through Kudu (main.tf, package)
  builtin_logging_enabled                        = false # the legacy AzureWebJobsDashboard; logs go to Application Insights

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.this.id]
  }

  # Key Vault references are resolved with this identity (the default would be a system-assigned
  # identity, which the app does not have).
  key_vault_reference_identity_id = azurerm_user_assigned_identity.this.id

  site_config {
    ftps_state              = "Disabled"
    minimum_tls_version     = "1.2"
    scm_minimum_tls_version = "1.2"
    http2_enabled           = true

    application_insights_connection_string = var.application_insights_connection_string

    application_stack {
      # The package's host.json names the executable (customHandler.description.defaultExecutablePath
      # "handler"); the platform only needs to know that no language worker runs.
      use_custom_runtime = true
    }
  }

  app_settings = {
    # Also implied by use_custom_runtime; written out so the setting the host reads is visible here.
    FUNCTIONS_WORKER_RUNTIME = "custom"

    # The only way the configuration reaches the handler. A reference to the versionless secret URI
    # follows rotation: App Service re-reads it within 24 hours, or at once when the app restarts or
    # its settings change.
    STORAGEGATE_CONFIG = "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.config.versionless_id})"

    # The handler's Azure SDK credential (azidentity.NewDefaultAzureCredential) builds its
    # ManagedIdentityCredential with the client ID in AZURE_CLIENT_ID; without it, it asks for the
    # system-assigned identity, which this app does not have. EnvironmentCredential ignores
    # AZURE_CLIENT_ID alone (it also wants a tenant and a secret or certificate).
    AZURE_CLIENT_ID = azurerm_user_assigned_identity.this.client_id

    WEBSITE_RUN_FROM_PACKAGE                     = azurerm_storage_blob.package.url
    WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID = azurerm_user_assigned_identity.this.id

    # The Sweep timer function (sweep.tf).
    STORAGEGATE_SWEEP_SCHEDULE    = local.sweep_app_settings.STORAGEGATE_SWEEP_SCHEDULE
    STORAGEGATE_AZURE_QUEUE       = local.sweep_app_settings.STORAGEGATE_AZURE_QUEUE
    "AzureWebJobs.Sweep.Disabled" = local.sweep_app_settings["AzureWebJobs.Sweep.Disabled"]
  }

  tags = var.tags

  # The app's first start must find its grants in place: the Key Vault reference and the package
  # fetch both run as the identity.
  depends_on = [
    azurerm_role_assignment.app_config_secret_user,
    azurerm_role_assignment.app_package_reader,
  ]
}
