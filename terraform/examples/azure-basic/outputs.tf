output "presign_url" {
  description = "URL of the presign function."
  value       = module.storagegate.presign_url
}

output "cleanup_queue" {
  description = "Storage queue that takes deletion messages (in storage_account_name)."
  value       = module.storagegate.cleanup_queue
}

output "storage_account_name" {
  description = "Storage account holding the cleanup and poison queues."
  value       = module.storagegate.storage_account_name
}

output "dead_letter_queue" {
  description = "Poison queue where failed deletion messages end up after 5 attempts."
  value       = module.storagegate.dead_letter_queue
}

output "clearml_services_setting" {
  description = "ClearML server setting, ready to paste, that sends the web app's azure:// links to presign."
  value       = module.storagegate.clearml_services_setting
}

output "default_hostname" {
  description = "The app's azurewebsites.net host name (CNAME target of a custom host name)."
  value       = module.storagegate.default_hostname
}

output "custom_domain_verification_id" {
  description = "Value of the TXT record asuid.<custom_hostname>."
  value       = module.storagegate.custom_domain_verification_id
  sensitive   = true
}

output "sync_triggers_command" {
  description = "Run after an apply that changed the package (see the module README)."
  value       = module.storagegate.sync_triggers_command
}

output "cleanup_queue_url" {
  description = "URL of the cleanup queue, for `storagegate enqueue --azure-queue`."
  value       = module.storagegate.cleanup_queue_url
}
