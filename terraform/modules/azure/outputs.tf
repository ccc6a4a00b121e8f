################################################################################
# The contract shared by every cloud's module
################################################################################

output "presign_url" {
  description = "URL of the presign function: https://<custom_hostname>/presign when a custom host name is set, else https://<default_hostname>/presign."
  value       = local.presign_url
}

output "cleanup_queue" {
  description = "Name of the Storage queue that takes deletion messages (in the storage_account_name account). Messages are base64-encoded JSON (host.json messageEncoding), at most 64 KiB."
  value       = azurerm_storage_queue.cleanup.name
}

output "dead_letter_queue" {
  description = "Name of the poison queue (same account) where the Functions host moves a message after 5 failed attempts (host.json maxDequeueCount)."
  value       = azurerm_storage_queue.poison.name
}

output "clearml_services_setting" {
  description = "ClearML server setting, ready to paste into its environment, that sends the web app's storage links matching presign_match_regex to presign_url."
  value = "CLEARML__SERVICES__SYSTEM__COMPANY__DEFAULT__SERVICES=${jsonencode([{
    type         = "presign"
    url          = local.presign_url
    use_fallback = "false"
    match_sets = [{
      rules = [{ field = "", obj_type = "", regex = var.presign_match_regex }]
    }]
  }])}"
}

################################################################################
# Azure specifics
################################################################################

output "storage_account_name" {
  description = "Name of the app's storage account (AzureWebJobsStorage), which holds cleanup_queue and dead_letter_queue."
  value       = azurerm_storage_account.this.name
}

output "cleanup_queue_url" {
  description = "URL of the cleanup queue, for `storagegate enqueue --azure-queue`."
  value       = "${azurerm_storage_account.this.primary_queue_endpoint}${azurerm_storage_queue.cleanup.name}"
}

output "cleanup_queue_id" {
  description = "Resource ID of the cleanup queue: the scope on which to grant a producer (e.g. whoever runs `storagegate enqueue`) \"Storage Queue Data Message Sender\"."
  value       = azurerm_storage_queue.cleanup.id
}

output "function_app_name" {
  description = "Name of the function app."
  value       = azurerm_linux_function_app.this.name
}

output "function_app_id" {
  description = "Resource ID of the function app."
  value       = azurerm_linux_function_app.this.id
}

output "default_hostname" {
  description = "The app's azurewebsites.net host name; the target of the custom host name's CNAME record."
  value       = azurerm_linux_function_app.this.default_hostname
}

output "custom_domain_verification_id" {
  description = "Value of the TXT record asuid.<custom_hostname> that Azure checks before binding the custom host name."
  value       = azurerm_linux_function_app.this.custom_domain_verification_id
  sensitive   = true
}

output "identity_id" {
  description = "Resource ID of the app's user-assigned managed identity."
  value       = azurerm_user_assigned_identity.this.id
}

output "identity_principal_id" {
  description = "Object (principal) ID of the app's managed identity: the principal of its role assignments."
  value       = azurerm_user_assigned_identity.this.principal_id
}

output "identity_client_id" {
  description = "Client ID of the app's managed identity (the app's AZURE_CLIENT_ID setting)."
  value       = azurerm_user_assigned_identity.this.client_id
}

output "key_vault_id" {
  description = "Resource ID of the key vault that holds the configuration secret."
  value       = azurerm_key_vault.this.id
}

output "config_secret_id" {
  description = "Versionless URI of the configuration secret, as referenced by the STORAGEGATE_CONFIG app setting."
  value       = azurerm_key_vault_secret.config.versionless_id
}

output "sync_triggers_command" {
  description = "Azure CLI command that makes the platform re-read the app's triggers. Microsoft asks for it after a deployment from an external package URL by Terraform; run it after an apply that changed the package, or the Cleanup queue trigger may not scale out until the app next starts."
  value       = "az rest --method post --url https://management.azure.com${azurerm_linux_function_app.this.id}/syncfunctiontriggers?api-version=2022-03-01"
}

# Sweeper

output "sweep_enabled" {
  description = "Whether the Sweep timer function runs (sweep_schedule is set)."
  value       = var.sweep_schedule != null
}
