# storagegate on AWS: the presign Lambda behind a function URL (presign.tf), the cleanup Lambda fed by
# SQS with a dead-letter queue (cleanup.tf), their roles (iam.tf), the optional scheduled sweep Lambda
# (sweep.tf), an optional CloudFront custom domain for browsers (domain.tf), and here the configuration
# secret every function reads.

locals {
  # `make package` names its zips after Go's GOARCH (amd64), Lambda after the instruction set (x86_64).
  package_arch = { arm64 = "arm64", x86_64 = "amd64" }[var.architecture]

  presign_function_name = "${var.name}-presign"
  cleanup_function_name = "${var.name}-cleanup"

  # Exactly one of config / config_secret_arn is given (checked by the precondition on the presign
  # function, which always exists): the module owns the secret only when no ARN is given.
  create_config_secret = var.config_secret_arn == null
  config_secret_arn    = local.create_config_secret ? aws_secretsmanager_secret.config[0].arn : var.config_secret_arn

  config_exactly_one = (var.config == null) != (var.config_secret_arn == null)

  # AWS's advice for a Lambda event source: a visibility timeout of at least six times the function's
  # timeout, plus the batching window, so that a batch being retried by Lambda after a throttle or
  # error is not delivered to a second invocation meanwhile.
  min_visibility_timeout     = 6 * var.cleanup_timeout + var.cleanup_batching_window_seconds
  cleanup_visibility_timeout = coalesce(var.cleanup_visibility_timeout_seconds, local.min_visibility_timeout)

  grant_artifact_buckets = length(var.artifact_bucket_arns) > 0
  grant_kms              = length(var.kms_key_arns) > 0

  # Trailing slash included: a function URL ends in "/".
  presign_url = var.custom_domain == null ? "${aws_lambda_function_url.presign.function_url}presign" : "https://${var.custom_domain.domain_name}/presign"
}

################################################################################
# Configuration secret
################################################################################

# The functions get only the secret's ARN (STORAGEGATE_CONFIG_SECRET) and read the document once per
# cold start: the config holds storage keys and the ClearML service credentials, which must never sit
# in plain environment variables.
resource "aws_secretsmanager_secret" "config" {
  count = local.create_config_secret ? 1 : 0

  # A prefix, not a fixed name: a deleted secret keeps its name for the recovery window, which would
  # make a destroy followed by an apply fail.
  name_prefix = "${var.name}/config-"
  description = "storagegate configuration document (read by the ${local.presign_function_name}, ${local.cleanup_function_name} and, when scheduled, ${local.sweep_function_name} functions)"
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "config" {
  count = local.create_config_secret ? 1 : 0

  secret_id     = aws_secretsmanager_secret.config[0].id
  secret_string = var.config

  lifecycle {
    precondition {
      condition     = local.config_exactly_one
      error_message = "Give exactly one of config (the document; the module stores it) and config_secret_arn (an existing secret)."
    }
  }
}
