output "presign_url" {
  description = "The presign endpoint on the custom domain (https://<domain_name>/presign)."
  value       = module.storagegate.presign_url
}

output "cloudfront_domain_name" {
  description = "Point domain_name here: a CNAME (or a Route 53 alias record) to this CloudFront domain."
  value       = module.storagegate.cloudfront_domain_name
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
  description = "The ClearML server setting, ready to paste, that sends the web app's s3:// links to presign on the custom domain."
  value       = module.storagegate.clearml_services_setting
}
