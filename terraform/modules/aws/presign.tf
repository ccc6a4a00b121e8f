################################################################################
# Presign function and its URL
################################################################################

# Created before the function so that Lambda writes into a group with our retention (the role has no
# logs:CreateLogGroup, so it could not make one anyway).
resource "aws_cloudwatch_log_group" "presign" {
  name              = "/aws/lambda/${local.presign_function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "presign" {
  function_name = local.presign_function_name
  description   = "storagegate presign: checks the caller against ClearML, answers with a short-lived signed URL"
  role          = aws_iam_role.presign.arn

  # `make package`: one static executable named bootstrap for the OS-only runtime.
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = var.presign_zip
  source_code_hash = filebase64sha256(var.presign_zip)

  memory_size = var.presign_memory_size
  timeout     = var.presign_timeout

  environment {
    variables = {
      # The only setting the function reads: the secret's ARN, never the config itself.
      STORAGEGATE_CONFIG_SECRET = local.config_secret_arn
    }
  }

  logging_config {
    log_format = "Text" # the function already writes one JSON object per line
    log_group  = aws_cloudwatch_log_group.presign.name
  }

  tags = var.tags

  # The role's policy must be in place before the first request, or the cold start fails reading the secret.
  depends_on = [aws_iam_role_policy.presign]

  lifecycle {
    precondition {
      condition     = local.config_exactly_one
      error_message = "Give exactly one of config (the document; the module stores it) and config_secret_arn (an existing secret)."
    }
    precondition {
      condition     = !can(regex("-(arm64|amd64)\\.zip$", var.presign_zip)) || endswith(var.presign_zip, "-${local.package_arch}.zip")
      error_message = "presign_zip is built for another architecture than var.architecture (${var.architecture} needs presign-lambda-${local.package_arch}.zip)."
    }
  }
}

# authorization_type NONE on purpose: the ClearML check in the function is the authentication (every
# request without a valid ClearML token, API key pair or session cookie is answered 401), and browsers
# and scripts cannot sign requests with AWS SigV4. An IAM-authorised URL, or CloudFront origin access
# control (which rewrites the Authorization header), would lock out exactly the callers presign serves.
#
# Public access needs two statements in the function's resource policy since October 2025:
# lambda:InvokeFunctionUrl (condition lambda:FunctionUrlAuthType = NONE) and lambda:InvokeFunction
# (condition lambda:InvokedViaFunctionUrl = true). From hashicorp/aws 6.28.0 (versions.tf) this resource
# adds both itself when it creates a NONE URL (FunctionURLAllowPublicAccess and
# FunctionURLAllowInvokeAction; provider CHANGELOG 6.28.0, PR #44858; AWS Lambda guide "Control access
# to Lambda function URLs"). So the module declares no aws_lambda_permission: a second InvokeFunctionUrl
# statement would only duplicate the first, and the only InvokeFunction statement that this schema can
# express without invoked_via_function_url would let anyone call the function directly through the
# Lambda API. A URL created by an older provider lacks the second statement: replace it once
# (terraform apply -replace=<module>.aws_lambda_function_url.presign).
resource "aws_lambda_function_url" "presign" {
  function_name      = aws_lambda_function.presign.function_name
  authorization_type = "NONE"
  # The function answers with one buffered response (events.LambdaFunctionURLResponse).
  invoke_mode = "BUFFERED"

  # Browsers calling the JSON and batch forms from the ClearML web app: credentialed CORS for the exact
  # origins given, never "*" (README "The HTTP contract"). The URL answers preflights itself, so these must agree with
  # presign.cors_origins in the config. No origins: no CORS block, and cross-origin calls are refused.
  dynamic "cors" {
    for_each = length(var.cors_allowed_origins) > 0 ? [var.cors_allowed_origins] : []
    content {
      allow_origins     = cors.value
      allow_credentials = true
      allow_methods     = ["GET", "HEAD", "POST"]
      allow_headers     = ["authorization", "content-type"]
      max_age           = 300
    }
  }
}
