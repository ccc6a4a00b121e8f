locals {
  # The Cloud Run URL, not the cloudfunctions.net one: on it the function sees
  # the request path as sent (/, /presign, /healthz), as on every platform.
  presign_function_url = google_cloudfunctions2_function.presign.service_config[0].uri
  presign_url          = var.custom_domain == null ? local.presign_function_url : "https://${var.custom_domain}"
}

output "presign_url" {
  description = "URL of the presign function: https://<custom_domain> when one is set, else the function's run.app URL."
  value       = local.presign_url
}

output "presign_function_url" {
  description = "The presign function's own run.app URL (works for scripts that send Authorization; browsers need the custom domain)."
  value       = local.presign_function_url
}

output "cleanup_queue" {
  description = "Id of the Pub/Sub topic that takes deletion messages (projects/<project>/topics/<name>)."
  value       = google_pubsub_topic.cleanup.id
}

output "dead_letter_queue" {
  description = "Id of the dead-letter topic that takes cleanup messages after max_delivery_attempts failed deliveries."
  value       = google_pubsub_topic.dead_letter.id
}

output "cleanup_subscription" {
  description = "Id of the push subscription that delivers deletion messages to the cleanup function."
  value       = google_pubsub_subscription.cleanup.id
}

output "dead_letter_subscription" {
  description = "Id of the pull subscription that keeps dead-lettered messages for 7 days (inspect or redrive them from here)."
  value       = google_pubsub_subscription.dead_letter.id
}

output "clearml_services_setting" {
  description = "ClearML server environment setting, ready to paste, that sends the web app's storage links matching clearml_url_regex to presign_url."
  value = "CLEARML__SERVICES__SYSTEM__COMPANY__DEFAULT__SERVICES=${jsonencode([{
    type         = "presign"
    url          = local.presign_url
    use_fallback = "false"
    match_sets   = [{ rules = [{ field = "", obj_type = "", regex = var.clearml_url_regex }] }]
  }])}"
}

output "presign_function_name" {
  description = "Name of the presign function (and of its Cloud Run service)."
  value       = google_cloudfunctions2_function.presign.name
}

output "cleanup_function_name" {
  description = "Name of the cleanup function (and of its Cloud Run service)."
  value       = google_cloudfunctions2_function.cleanup.name
}

output "presign_service_account_email" {
  description = "Identity of the presign function; the signer of every signed URL. Give it read access to buckets outside artifact_buckets, if any."
  value       = google_service_account.presign.email
}

output "cleanup_service_account_email" {
  description = "Identity of the cleanup function."
  value       = google_service_account.cleanup.email
}

output "push_service_account_email" {
  description = "Identity Pub/Sub uses to invoke the cleanup function."
  value       = google_service_account.push.email
}

output "config_secret_id" {
  description = "Secret Manager secret the functions read their configuration from."
  value       = local.config_secret_id
}

output "source_bucket" {
  description = "Bucket holding the functions' source zip."
  value       = google_storage_bucket.source.name
}

output "custom_domain_dns_records" {
  description = "DNS records to create for custom_domain (empty without one): type, name and data of each."
  value = var.custom_domain == null ? [] : [
    for r in try(google_cloud_run_domain_mapping.presign[0].status[0].resource_records, []) : {
      type   = r.type
      name   = r.name
      rrdata = r.rrdata
    }
  ]
}

# Sweeper

output "sweep_function_name" {
  description = "Name of the Sweep function; null without sweep_schedule."
  value       = one(google_cloudfunctions2_function.sweep[*].name)
}

output "sweep_service_account_email" {
  description = "The Sweep function's identity (publishes to the cleanup topic, reads the config); null without sweep_schedule."
  value       = one(google_service_account.sweep[*].email)
}
