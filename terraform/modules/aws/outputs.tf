output "presign_url" {
  description = "The presign endpoint: https://<custom domain>/presign when custom_domain is set, else the function URL's /presign."
  value       = local.presign_url
}

output "presign_function_url" {
  description = "The bare Lambda function URL (ends in \"/\"). Scripts sending Authorization may use it even with a custom domain; browsers need the custom domain."
  value       = aws_lambda_function_url.presign.function_url
}

output "cleanup_queue" {
  description = "URL of the SQS queue that takes deletion messages (storagegate enqueue --sqs-queue-url)."
  value       = aws_sqs_queue.cleanup.url
}

output "cleanup_queue_arn" {
  description = "ARN of the cleanup queue, for producers' IAM policies."
  value       = aws_sqs_queue.cleanup.arn
}

output "cleanup_sender_policy_json" {
  description = "IAM policy document allowing sqs:SendMessage on the cleanup queue, to attach to whatever produces deletion messages."
  value       = data.aws_iam_policy_document.cleanup_sender.json
}

output "dead_letter_queue" {
  description = "URL of the dead-letter queue where a message lands after max_receive_count failed deliveries."
  value       = aws_sqs_queue.cleanup_dlq.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.cleanup_dlq.arn
}

output "clearml_services_setting" {
  description = "The ClearML server setting, ready to paste into its environment, that sends the web app's storage links matching presign_match_regex to presign_url."
  value = "CLEARML__SERVICES__SYSTEM__COMPANY__DEFAULT__SERVICES=${jsonencode([{
    type         = "presign"
    url          = local.presign_url
    use_fallback = "false"
    match_sets   = [{ rules = [{ field = "", obj_type = "", regex = var.presign_match_regex }] }]
  }])}"
}

output "config_secret_arn" {
  description = "ARN of the Secrets Manager secret the functions read (created by the module, or config_secret_arn)."
  value       = local.config_secret_arn
}

output "presign_function_name" {
  description = "Name of the presign Lambda function."
  value       = aws_lambda_function.presign.function_name
}

output "cleanup_function_name" {
  description = "Name of the cleanup Lambda function."
  value       = aws_lambda_function.cleanup.function_name
}

output "presign_role_arn" {
  description = "ARN of the presign function's role (the identity of URLs signed with use_credentials_chain)."
  value       = aws_iam_role.presign.arn
}

output "cleanup_role_arn" {
  description = "ARN of the cleanup function's role (the identity deleting with use_credentials_chain)."
  value       = aws_iam_role.cleanup.arn
}

output "cloudfront_domain_name" {
  description = "The CloudFront distribution's domain name (dxxxx.cloudfront.net) to point custom_domain.domain_name at with a CNAME or Route 53 alias; null without custom_domain."
  value       = one(aws_cloudfront_distribution.presign[*].domain_name)
}

output "cloudfront_distribution_id" {
  description = "ID of the CloudFront distribution; null without custom_domain."
  value       = one(aws_cloudfront_distribution.presign[*].id)
}

# Sweeper

output "sweep_function_name" {
  description = "Name of the sweep Lambda function; null without sweep_schedule."
  value       = one(aws_lambda_function.sweep[*].function_name)
}

output "sweep_role_arn" {
  description = "ARN of the sweep function's role (sends to the cleanup queue, reads the config secret); null without sweep_schedule."
  value       = one(aws_iam_role.sweep[*].arn)
}
