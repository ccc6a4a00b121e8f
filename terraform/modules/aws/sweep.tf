################################################################################
# Retention sweeper (README "Retention sweeper"), on when sweep_schedule is set
################################################################################

# An EventBridge rule invokes the sweep Lambda on the schedule. The function lists and deletes ClearML
# tasks with the service credentials in the config secret and puts their files on the cleanup queue,
# where the cleanup function deletes them: it never touches a bucket itself.

locals {
  sweep_enabled       = var.sweep_schedule != null
  sweep_function_name = "${var.name}-sweep"
}

resource "aws_cloudwatch_log_group" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  name              = "/aws/lambda/${local.sweep_function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_iam_role" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  name               = "${var.name}-sweep"
  description        = "storagegate sweep function (${local.sweep_function_name})"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

# Its own logs, the config secret (and kms:Decrypt on kms_key_arns, for a config secret under a customer
# managed key), and publishing to the cleanup queue: nothing else. No S3 grant (the cleanup function
# deletes), no receive or delete on the queue.
data "aws_iam_policy_document" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.sweep[0].arn}:*"]
  }

  statement {
    sid       = "ReadConfigSecret"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.config_secret_arn]
  }

  statement {
    sid       = "SendDeletionMessages"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.cleanup.arn]
  }

  source_policy_documents = data.aws_iam_policy_document.kms_decrypt[*].json
}

resource "aws_iam_role_policy" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  name   = "${var.name}-sweep"
  role   = aws_iam_role.sweep[0].id
  policy = data.aws_iam_policy_document.sweep[0].json
}

resource "aws_lambda_function" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  function_name = local.sweep_function_name
  description   = "storagegate sweep: deletes old ClearML tasks on a schedule and queues their files for cleanup"
  role          = aws_iam_role.sweep[0].arn

  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = var.sweep_zip
  source_code_hash = filebase64sha256(var.sweep_zip)

  memory_size = var.sweep_memory_size
  # The function's remaining time bounds a run: it stops starting tasks a margin before, and the next
  # scheduled run continues with what is left.
  timeout = var.sweep_timeout
  # One run at a time: two runs would select the same tasks.
  reserved_concurrent_executions = 1

  environment {
    variables = {
      STORAGEGATE_CONFIG_SECRET = local.config_secret_arn
      STORAGEGATE_SQS_QUEUE_URL = aws_sqs_queue.cleanup.url
    }
  }

  logging_config {
    log_format = "Text" # the function already writes one JSON object per line
    log_group  = aws_cloudwatch_log_group.sweep[0].name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.sweep]

  lifecycle {
    precondition {
      condition     = var.sweep_zip != null
      error_message = "sweep_schedule is set: give sweep_zip (bin/package/sweep-lambda-<arch>.zip from make package)."
    }
    precondition {
      condition     = var.sweep_zip == null || !can(regex("-(arm64|amd64)\\.zip$", var.sweep_zip)) || endswith(coalesce(var.sweep_zip, "-"), "-${local.package_arch}.zip")
      error_message = "sweep_zip is built for another architecture than var.architecture (${var.architecture} needs sweep-lambda-${local.package_arch}.zip)."
    }
  }
}

# A failed run is an error of the invocation (the Errors metric shows it); retrying it at once would only
# sweep again, and the next scheduled run does that anyway.
resource "aws_lambda_function_event_invoke_config" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  function_name          = aws_lambda_function.sweep[0].function_name
  maximum_retry_attempts = 0
}

resource "aws_cloudwatch_event_rule" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  name                = "${var.name}-sweep"
  description         = "storagegate retention sweep"
  schedule_expression = var.sweep_schedule
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  rule = aws_cloudwatch_event_rule.sweep[0].name
  arn  = aws_lambda_function.sweep[0].arn
}

# Only this rule may invoke the function.
resource "aws_lambda_permission" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.sweep[0].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweep[0].arn
}
