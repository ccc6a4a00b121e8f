# Offline wiring tests: `terraform init -backend=false && terraform test` in the module directory, with
# the azurerm provider's schema but no Azure account (mock_provider). Computed IDs get realistic
# values so that what the module derives from them (scopes, app settings, URLs) reads like Azure's.

mock_provider "azurerm" {
  mock_data "azurerm_client_config" {
    defaults = {
      subscription_id = "00000000-0000-0000-0000-000000000000"
      tenant_id       = "10000000-0000-0000-0000-000000000000"
      client_id       = "20000000-0000-0000-0000-000000000000"
      object_id       = "30000000-0000-0000-0000-000000000000"
    }
  }

  mock_resource "azurerm_storage_account" {
    defaults = {
      id                 = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/storagegate/providers/Microsoft.Storage/storageAccounts/storagegateabc123"
      primary_access_key = "c2VjcmV0LWtleS1mb3ItdGVzdHM="
    }
  }

  mock_resource "azurerm_storage_queue" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/storagegate/providers/Microsoft.Storage/storageAccounts/storagegateabc123/queueServices/default/queues/storagegate-cleanup"
    }
  }

  mock_resource "azurerm_storage_container" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/storagegate/providers/Microsoft.Storage/storageAccounts/storagegateabc123/blobServices/default/containers/function-releases"
    }
  }

  mock_resource "azurerm_storage_blob" {
    defaults = {
      id  = "https://storagegateabc123.blob.core.windows.net/function-releases/storagegate-package.zip"
      url = "https://storagegateabc123.blob.core.windows.net/function-releases/storagegate-package.zip"
    }
  }

  mock_resource "azurerm_user_assigned_identity" {
    defaults = {
      id           = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/storagegate/providers/Microsoft.ManagedIdentity/userAssignedIdentities/storagegate-identity"
      principal_id = "40000000-0000-0000-0000-000000000000"
      client_id    = "50000000-0000-0000-0000-000000000000"
      tenant_id    = "10000000-0000-0000-0000-000000000000"
    }
  }

  mock_resource "azurerm_key_vault" {
    defaults = {
      id        = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/storagegate/providers/Microsoft.KeyVault/vaults/storagegate-abc123"
      vault_uri = "https://storagegate-abc123.vault.azure.net/"
    }
  }

  mock_resource "azurerm_key_vault_secret" {
    defaults = {
      id                      = "https://storagegate-abc123.vault.azure.net/secrets/storagegate-config/0123456789abcdef0123456789abcdef"
      version                 = "0123456789abcdef0123456789abcdef"
      versionless_id          = "https://storagegate-abc123.vault.azure.net/secrets/storagegate-config"
      resource_id             = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/storagegate/providers/Microsoft.KeyVault/vaults/storagegate-abc123/secrets/storagegate-config/versions/0123456789abcdef0123456789abcdef"
      resource_versionless_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/storagegate/providers/Microsoft.KeyVault/vaults/storagegate-abc123/secrets/storagegate-config"
    }
  }

  mock_resource "azurerm_role_definition" {
    defaults = {
      role_definition_id          = "60000000-0000-0000-0000-000000000000"
      role_definition_resource_id = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/60000000-0000-0000-0000-000000000000"
    }
  }

  mock_resource "azurerm_role_assignment" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/storagegate/providers/Microsoft.Authorization/roleAssignments/70000000-0000-0000-0000-000000000000"
    }
  }

  mock_resource "azurerm_service_plan" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/storagegate/providers/Microsoft.Web/serverFarms/storagegate-plan"
    }
  }

  mock_resource "azurerm_linux_function_app" {
    defaults = {
      id                            = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/storagegate/providers/Microsoft.Web/sites/storagegate-abc123"
      default_hostname              = "storagegate-abc123.azurewebsites.net"
      custom_domain_verification_id = "8000000000000000000000000000000000000000000000000000000000000000"
    }
  }

  mock_resource "azurerm_app_service_custom_hostname_binding" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/storagegate/providers/Microsoft.Web/sites/storagegate-abc123/hostNameBindings/presign.clearml.example.com"
    }
  }

  mock_resource "azurerm_app_service_managed_certificate" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/storagegate/providers/Microsoft.Web/certificates/presign.clearml.example.com"
    }
  }
}

variables {
  resource_group_name = "storagegate"
  location            = "westeurope"
  package_zip         = "tests/testdata/azure-app.zip"
  config              = "storage:\n  azure:\n    containers: []\n"

  # Two containers in one account, one in another account of another resource group.
  artifact_containers = [
    {
      storage_account_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/artifacts/providers/Microsoft.Storage/storageAccounts/clearmlartifacts"
      container_name     = "models"
    },
    {
      storage_account_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/artifacts/providers/Microsoft.Storage/storageAccounts/clearmlartifacts"
      container_name     = "debug-samples"
    },
    {
      storage_account_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/other/providers/Microsoft.Storage/storageAccounts/otherartifacts"
      container_name     = "datasets"
    },
  ]
}

run "plan" {
  command = plan

  assert {
    condition     = azurerm_linux_function_app.this.app_settings["FUNCTIONS_WORKER_RUNTIME"] == "custom"
    error_message = "FUNCTIONS_WORKER_RUNTIME must be custom: the package is a custom handler."
  }

  assert {
    condition     = azurerm_linux_function_app.this.site_config[0].application_stack[0].use_custom_runtime == true
    error_message = "The application stack must be the custom runtime."
  }

  assert {
    condition     = azurerm_linux_function_app.this.https_only && azurerm_linux_function_app.this.site_config[0].ftps_state == "Disabled" && azurerm_linux_function_app.this.site_config[0].minimum_tls_version == "1.2"
    error_message = "The app must be HTTPS only, with FTPS off and TLS 1.2 at least."
  }

  assert {
    condition     = !contains(keys(azurerm_linux_function_app.this.app_settings), "STORAGEGATE_CONFIG_FILE") && !contains(keys(azurerm_linux_function_app.this.app_settings), "STORAGEGATE_CONFIG_SECRET")
    error_message = "The config must reach the app through exactly one setting, STORAGEGATE_CONFIG."
  }

  assert {
    condition     = azurerm_storage_queue.cleanup.name == "storagegate-cleanup" && azurerm_storage_queue.poison.name == "storagegate-cleanup-poison"
    error_message = "The queue names must be the ones Cleanup/function.json binds to and the host's poison queue."
  }

  assert {
    condition     = output.cleanup_queue == "storagegate-cleanup" && output.dead_letter_queue == "storagegate-cleanup-poison"
    error_message = "cleanup_queue and dead_letter_queue must name the two queues."
  }

  assert {
    condition     = azurerm_storage_account.this.min_tls_version == "TLS1_2" && !azurerm_storage_account.this.allow_nested_items_to_be_public && azurerm_storage_account.this.https_traffic_only_enabled
    error_message = "The app's storage account must require TLS 1.2 and HTTPS and allow no public blobs."
  }

  assert {
    condition     = length(azurerm_storage_account.this.name) <= 24 && can(regex("^[a-z0-9]{3,24}$", azurerm_storage_account.this.name)) && length(azurerm_key_vault.this.name) <= 24
    error_message = "Storage account and key vault names must fit Azure's rules."
  }

  assert {
    condition     = azurerm_key_vault.this.rbac_authorization_enabled
    error_message = "The key vault must use RBAC authorization."
  }

  assert {
    condition = toset([for a in azurerm_role_assignment.artifact_read_delete : a.scope]) == toset([
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/artifacts/providers/Microsoft.Storage/storageAccounts/clearmlartifacts/blobServices/default/containers/models",
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/artifacts/providers/Microsoft.Storage/storageAccounts/clearmlartifacts/blobServices/default/containers/debug-samples",
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/other/providers/Microsoft.Storage/storageAccounts/otherartifacts/blobServices/default/containers/datasets",
    ])
    error_message = "The read/delete role must be assigned at exactly the configured containers' scopes."
  }

  assert {
    condition = sort(azurerm_role_definition.artifact_read_delete[0].permissions[0].data_actions) == sort([
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
    ])
    error_message = "The custom role must hold exactly blobs/read and blobs/delete."
  }

  assert {
    condition     = try(length(azurerm_role_definition.artifact_read_delete[0].permissions[0].actions), 0) == 0
    error_message = "The custom role must hold no control-plane actions."
  }

  assert {
    condition = toset(azurerm_role_definition.artifact_read_delete[0].assignable_scopes) == toset([
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/artifacts",
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/other",
    ])
    error_message = "The custom role must be assignable only in the artifact accounts' resource groups."
  }

  assert {
    condition = toset([for a in azurerm_role_assignment.artifact_delegator : a.scope]) == toset([
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/artifacts/providers/Microsoft.Storage/storageAccounts/clearmlartifacts",
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/other/providers/Microsoft.Storage/storageAccounts/otherartifacts",
    ]) && alltrue([for a in azurerm_role_assignment.artifact_delegator : a.role_definition_name == "Storage Blob Delegator"])
    error_message = "Storage Blob Delegator must be assigned once per distinct artifact account, at the account."
  }

  assert {
    condition     = azurerm_role_assignment.deployer_secrets_officer.role_definition_name == "Key Vault Secrets Officer" && azurerm_role_assignment.deployer_secrets_officer.principal_id == "30000000-0000-0000-0000-000000000000"
    error_message = "The deploying principal must be Key Vault Secrets Officer on the vault."
  }

  assert {
    condition     = azurerm_role_assignment.app_config_secret_user.role_definition_name == "Key Vault Secrets User" && azurerm_role_assignment.app_package_reader.role_definition_name == "Storage Blob Data Reader"
    error_message = "The app's identity must read the config secret and the package, with the read-only roles."
  }

  assert {
    condition     = length(azurerm_app_service_custom_hostname_binding.this) == 0 && length(azurerm_app_service_managed_certificate.this) == 0
    error_message = "No custom host name resources without custom_hostname."
  }
}

run "apply" {
  assert {
    condition     = azurerm_linux_function_app.this.app_settings["STORAGEGATE_CONFIG"] == "@Microsoft.KeyVault(SecretUri=https://storagegate-abc123.vault.azure.net/secrets/storagegate-config)"
    error_message = "STORAGEGATE_CONFIG must be a Key Vault reference to the versionless secret URI."
  }

  assert {
    condition     = can(regex("^@Microsoft\\.KeyVault\\(SecretUri=https://[a-z0-9-]+\\.vault\\.azure\\.net/secrets/[A-Za-z0-9-]+\\)$", azurerm_linux_function_app.this.app_settings["STORAGEGATE_CONFIG"]))
    error_message = "STORAGEGATE_CONFIG must be a Key Vault reference without a secret version."
  }

  assert {
    condition     = azurerm_linux_function_app.this.key_vault_reference_identity_id == azurerm_user_assigned_identity.this.id
    error_message = "Key Vault references must be resolved with the user-assigned identity."
  }

  assert {
    condition     = azurerm_linux_function_app.this.app_settings["AZURE_CLIENT_ID"] == "50000000-0000-0000-0000-000000000000"
    error_message = "AZURE_CLIENT_ID must be the identity's client ID (azidentity picks the user-assigned identity by it)."
  }

  assert {
    condition     = azurerm_linux_function_app.this.app_settings["WEBSITE_RUN_FROM_PACKAGE"] == azurerm_storage_blob.package.url && azurerm_linux_function_app.this.app_settings["WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID"] == azurerm_user_assigned_identity.this.id
    error_message = "The app must run from the uploaded package, fetched with its identity."
  }

  assert {
    condition     = azurerm_storage_blob.package.name == "storagegate-${filesha256("tests/testdata/azure-app.zip")}.zip"
    error_message = "The package blob must be named after the zip's content."
  }

  assert {
    condition     = azurerm_role_assignment.app_config_secret_user.scope == azurerm_key_vault_secret.config.resource_versionless_id
    error_message = "Key Vault Secrets User must be scoped to the one config secret (versionless)."
  }

  assert {
    condition     = azurerm_role_assignment.app_package_reader.scope == azurerm_storage_container.packages.id
    error_message = "The package reader grant must be scoped to the package container."
  }

  assert {
    condition     = alltrue([for a in azurerm_role_assignment.artifact_read_delete : a.role_definition_id == azurerm_role_definition.artifact_read_delete[0].role_definition_resource_id && a.principal_id == "40000000-0000-0000-0000-000000000000"])
    error_message = "Every container assignment must give the custom role to the app's identity."
  }

  assert {
    condition     = output.presign_url == "https://storagegate-abc123.azurewebsites.net/presign"
    error_message = "Without a custom host name, presign_url must be the default host name's /presign."
  }

  assert {
    condition     = output.clearml_services_setting == "CLEARML__SERVICES__SYSTEM__COMPANY__DEFAULT__SERVICES=[{\"match_sets\":[{\"rules\":[{\"field\":\"\",\"obj_type\":\"\",\"regex\":\"^azure://\"}]}],\"type\":\"presign\",\"url\":\"https://storagegate-abc123.azurewebsites.net/presign\",\"use_fallback\":\"false\"}]"
    error_message = "clearml_services_setting must be the ClearML services setting pointing at presign_url."
  }
}

run "custom_hostname" {
  variables {
    custom_hostname = "presign.clearml.example.com"
  }

  assert {
    condition     = output.presign_url == "https://presign.clearml.example.com/presign"
    error_message = "With a custom host name, presign_url must use it."
  }

  assert {
    condition     = azurerm_app_service_custom_hostname_binding.this[0].hostname == "presign.clearml.example.com" && azurerm_app_service_custom_hostname_binding.this[0].app_service_name == azurerm_linux_function_app.this.name
    error_message = "The host name must be bound to the function app."
  }

  assert {
    condition     = azurerm_app_service_certificate_binding.this[0].ssl_state == "SniEnabled" && azurerm_app_service_certificate_binding.this[0].certificate_id == azurerm_app_service_managed_certificate.this[0].id && azurerm_app_service_certificate_binding.this[0].hostname_binding_id == azurerm_app_service_custom_hostname_binding.this[0].id
    error_message = "The managed certificate must be bound (SNI) to the custom host name."
  }
}

run "no_artifact_containers" {
  command = plan

  variables {
    artifact_containers = []
  }

  assert {
    condition     = length(azurerm_role_definition.artifact_read_delete) == 0 && length(azurerm_role_assignment.artifact_read_delete) == 0 && length(azurerm_role_assignment.artifact_delegator) == 0
    error_message = "Without artifact containers (account keys only) the identity gets no blob grants."
  }
}

run "rejects_flex_consumption" {
  command = plan

  variables {
    sku = "FC1"
  }

  expect_failures = [var.sku]
}

run "rejects_account_wide_entry" {
  command = plan

  variables {
    artifact_containers = [{
      storage_account_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/artifacts/providers/Microsoft.Storage/storageAccounts/clearmlartifacts"
      container_name     = ""
    }]
  }

  expect_failures = [var.artifact_containers]
}
