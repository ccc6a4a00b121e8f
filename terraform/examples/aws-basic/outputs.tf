output "presign_url" {
  description = "The presign endpoint (the function URL's /presign)."
  value       = module.storagegate.presign_url
}

output "cleanup_queue" {
  description = "URL of the SQS queue that takes deletion messages."
  value       = module.storagegate.cleanup_queue
}

output "dead_letter_queue" {
  description = "URL of the dead-letter queue."
  value       = module.storagegate.dead_letter_queue
}

output "clearml_services_setting" {
  description = "The ClearML server setting, ready to paste, that sends the web app's s3:// links to presign."
  value       = module.storagegate.clearml_services_setting
}
