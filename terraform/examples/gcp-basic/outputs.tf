output "presign_url" {
  description = "URL of the presign function (the custom domain's when one is set)."
  value       = module.storagegate.presign_url
}

output "cleanup_queue" {
  description = "Pub/Sub topic that takes deletion messages."
  value       = module.storagegate.cleanup_queue
}

output "dead_letter_queue" {
  description = "Dead-letter topic of failed deletion messages."
  value       = module.storagegate.dead_letter_queue
}

output "dead_letter_subscription" {
  description = "Subscription that keeps dead-lettered messages for 7 days."
  value       = module.storagegate.dead_letter_subscription
}

output "clearml_services_setting" {
  description = "Paste into the ClearML server's environment to send the web app's gs:// links to presign."
  value       = module.storagegate.clearml_services_setting
}

output "custom_domain_dns_records" {
  description = "DNS records to create for custom_domain."
  value       = module.storagegate.custom_domain_dns_records
}
