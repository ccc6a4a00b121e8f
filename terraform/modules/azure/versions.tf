terraform {
  required_version = ">= 1.6"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.77.0 is the first release where every argument used here exists under the name that 5.x
      # keeps: azurerm_storage_blob.storage_container_id (4.77.0), azurerm_storage_queue and
      # azurerm_storage_container.storage_account_id (4.46.0 / 4.9.0) and
      # azurerm_key_vault.rbac_authorization_enabled (4.42.0). 5.0 removed the older spellings
      # (storage_account_name, enable_rbac_authorization), so no configuration fits both 4.0 and 5.x.
      version = ">= 4.77.0"
    }
  }
}
