################################################################################
# Managed identity
################################################################################

# User-assigned rather than system-assigned: it exists, and its role assignments are made, before the
# function app is created, so the app's first start already resolves its Key Vault reference and
# fetches its package. The app names it in key_vault_reference_identity_id,
# WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID and AZURE_CLIENT_ID (function.tf).
resource "azurerm_user_assigned_identity" "this" {
  name                = "${var.name}-identity"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

################################################################################
# Configuration in Key Vault
################################################################################

resource "azurerm_key_vault" "this" {
  name                = local.key_vault_name
  resource_group_name = var.resource_group_name
  location            = var.location
  tenant_id           = data.azurerm_client_config.current.tenant_id
  sku_name            = "standard"

  # Azure RBAC instead of access policies: the app's identity is granted one secret, not the vault.
  rbac_authorization_enabled = true
  purge_protection_enabled   = var.key_vault_purge_protection_enabled

  tags = var.tags
}

# Whoever runs Terraform writes (and on destroy deletes) the secret. With RBAC authorization being the
# vault's creator gives no data-plane access, so the deploying principal gets it explicitly, on this
# vault only.
resource "azurerm_role_assignment" "deployer_secrets_officer" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_key_vault_secret" "config" {
  name         = "${var.name}-config"
  value        = var.config
  key_vault_id = azurerm_key_vault.this.id
  content_type = "application/yaml"
  tags         = var.tags

  depends_on = [azurerm_role_assignment.deployer_secrets_officer]
}

# The app reads the config through the Key Vault reference in STORAGEGATE_CONFIG: this one secret and
# nothing else in the vault. resource_versionless_id is the secret's ARM ID without a version, so the
# grant covers every future version (a rotated config).
resource "azurerm_role_assignment" "app_config_secret_user" {
  scope                = azurerm_key_vault_secret.config.resource_versionless_id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
}

################################################################################
# Deployment package
################################################################################

# The platform fetches WEBSITE_RUN_FROM_PACKAGE with the identity (WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID).
# A container is the narrowest scope Azure RBAC offers for blobs; it holds only the packages.
resource "azurerm_role_assignment" "app_package_reader" {
  scope                = azurerm_storage_container.packages.id
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
}

################################################################################
# Artifact containers: sign (read) and clean up (delete)
################################################################################

locals {
  # Keyed by "<account>/<container>": account names are globally unique.
  artifact_containers = {
    for c in var.artifact_containers :
    "${element(split("/", c.storage_account_id), 8)}/${c.container_name}" => {
      storage_account_id = c.storage_account_id
      scope              = "${c.storage_account_id}/blobServices/default/containers/${c.container_name}"
    }
  }

  artifact_accounts = {
    for id in distinct([for c in var.artifact_containers : c.storage_account_id]) :
    element(split("/", id), 8) => id
  }

  # A custom role may be made assignable at management group, subscription or resource group scope,
  # not at a resource: the narrowest that covers the containers are their accounts' resource groups.
  artifact_resource_groups = distinct([
    for c in var.artifact_containers : regex("(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+", c.storage_account_id)
  ])
}

# Exactly what the functions do with artifacts, nothing more:
# - blobs/read: Get Blob (the permission a user-delegation SAS can carry is capped by the identity's
#   own, so signed reads need it) and List Blobs (cleanup lists a prefix; Microsoft maps List Blobs
#   to blobs/read, suboperation Blob.List);
# - blobs/delete: Delete Blob, also inside a Blob Batch.
# Storage Blob Data Contributor would add write, add, move, tag writes and more.
resource "azurerm_role_definition" "artifact_read_delete" {
  count = length(var.artifact_containers) > 0 ? 1 : 0

  # Role names are unique in the tenant: the suffix keeps two deployments apart.
  name        = "${var.name} artifact blob read and delete (${local.suffix})"
  scope       = local.artifact_resource_groups[0]
  description = "storagegate: read (sign, list) and delete blobs in the artifact containers it is assigned on."

  permissions {
    actions = []
    data_actions = [
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
    ]
  }

  assignable_scopes = local.artifact_resource_groups
}

# One assignment per configured container, at the container's scope.
resource "azurerm_role_assignment" "artifact_read_delete" {
  for_each = local.artifact_containers

  scope              = each.value.scope
  role_definition_id = azurerm_role_definition.artifact_read_delete[0].role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.this.principal_id
  principal_type     = "ServicePrincipal"
}

# A user-delegation SAS is signed with a key from Get User Delegation Key
# (blobServices/generateUserDelegationKey/action), an operation of the account's blob service, not of a
# container: Storage Blob Delegator, once per account, holds only that action. The key alone reads
# nothing; what a SAS may do is capped by the container-scoped grant above.
resource "azurerm_role_assignment" "artifact_delegator" {
  for_each = local.artifact_accounts

  scope                = each.value
  role_definition_name = "Storage Blob Delegator"
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
}
