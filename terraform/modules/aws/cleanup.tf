################################################################################
# Cleanup queues
################################################################################

# Where a message lands after max_receive_count failed deliveries: nothing is dropped silently
# (README "Cleanup"). It keeps the original message for 14 days, the SQS maximum; a standard queue keeps a
# message's first enqueue time when it moves, so this must outlast the source queue's retention.
resource "aws_sqs_queue" "cleanup_dlq" {
  name                      = "${var.name}-cleanup-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "cleanup" {
  name                       = "${var.name}-cleanup"
  visibility_timeout_seconds = local.cleanup_visibility_timeout
  message_retention_seconds  = 345600 # 4 days, the SQS default, well inside the DLQ's 14
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.cleanup_dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.cleanup_visibility_timeout >= local.min_visibility_timeout && local.cleanup_visibility_timeout <= 43200
      error_message = "The cleanup queue's visibility timeout must be at least six times cleanup_timeout plus cleanup_batching_window_seconds (${local.min_visibility_timeout} s here) and at most 43200 s."
    }
  }
}

# Only the cleanup queue may use the DLQ as its dead-letter queue (a separate resource: inline, the
# two queues would name each other). It also lets "start DLQ redrive" send messages back to it once
# the cause of their failure is fixed; redelivery is idempotent, so that finishes exactly the rest.
resource "aws_sqs_queue_redrive_allow_policy" "cleanup_dlq" {
  queue_url = aws_sqs_queue.cleanup_dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.cleanup.arn]
  })
}

################################################################################
# Cleanup function
################################################################################

resource "aws_cloudwatch_log_group" "cleanup" {
  name              = "/aws/lambda/${local.cleanup_function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "cleanup" {
  function_name = local.cleanup_function_name
  description   = "storagegate cleanup: deletes the artifacts named by each SQS deletion message"
  role          = aws_iam_role.cleanup.arn

  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = var.cleanup_zip
  source_code_hash = filebase64sha256(var.cleanup_zip)

  memory_size = var.cleanup_memory_size
  # The function's remaining time is the deletion deadline: it stops in time to report which
  # messages are unfinished, and those are redelivered.
  timeout                        = var.cleanup_timeout
  reserved_concurrent_executions = var.cleanup_reserved_concurrency

  environment {
    variables = {
      STORAGEGATE_CONFIG_SECRET = local.config_secret_arn
    }
  }

  logging_config {
    log_format = "Text" # the function already writes one JSON object per line
    log_group  = aws_cloudwatch_log_group.cleanup.name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.cleanup]

  lifecycle {
    precondition {
      condition     = !can(regex("-(arm64|amd64)\\.zip$", var.cleanup_zip)) || endswith(var.cleanup_zip, "-${local.package_arch}.zip")
      error_message = "cleanup_zip is built for another architecture than var.architecture (${var.architecture} needs cleanup-lambda-${local.package_arch}.zip)."
    }
    precondition {
      condition     = var.cleanup_reserved_concurrency == null || var.cleanup_maximum_concurrency == null || try(var.cleanup_reserved_concurrency >= var.cleanup_maximum_concurrency, false)
      error_message = "cleanup_reserved_concurrency is below cleanup_maximum_concurrency: the event source would be throttled, and throttled messages count towards max_receive_count."
    }
  }
}

resource "aws_lambda_event_source_mapping" "cleanup" {
  event_source_arn = aws_sqs_queue.cleanup.arn
  function_name    = aws_lambda_function.cleanup.arn

  batch_size                         = var.cleanup_batch_size
  maximum_batching_window_in_seconds = var.cleanup_batching_window_seconds

  # The function answers batchItemFailures with only the messages that failed: SQS deletes the
  # others, and redelivers (then dead-letters) just those. Without this, one failed message would
  # redeliver the whole batch, or a success would delete a failed one.
  function_response_types = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.cleanup_maximum_concurrency == null ? [] : [var.cleanup_maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  tags = var.tags

  # Creating the mapping checks that the function's role may receive from the queue.
  depends_on = [aws_iam_role_policy.cleanup]

  lifecycle {
    precondition {
      condition     = var.cleanup_batch_size <= 10 || var.cleanup_batching_window_seconds >= 1
      error_message = "A cleanup_batch_size above 10 needs cleanup_batching_window_seconds of at least 1 (an SQS event source rule)."
    }
  }
}
