################################################################################
# Roles: one per function, each allowed only what that function does
################################################################################

# No statement here uses a wildcard action or the resource "*". The log groups are created by the
# module (so no logs:CreateLogGroup), the functions run outside any VPC (so no ec2 network-interface
# actions, which would need "*"), and S3 and KMS grants exist only for the ARNs the caller names.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# kms:Decrypt for a customer managed key on an existing config secret, and (presign) for SSE-KMS
# objects: a signed GET of such an object is authorised as the signing role, KMS included.
data "aws_iam_policy_document" "kms_decrypt" {
  count = local.grant_kms ? 1 : 0

  statement {
    sid       = "DecryptWithListedKeys"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = var.kms_key_arns
  }
}

################################################################################
# Presign
################################################################################

resource "aws_iam_role" "presign" {
  name               = "${var.name}-presign"
  description        = "storagegate presign function (${local.presign_function_name})"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "presign" {
  statement {
    sid     = "WriteOwnLogs"
    effect  = "Allow"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    # The streams of the function's own log group (created in presign.tf).
    resources = ["${aws_cloudwatch_log_group.presign.arn}:*"]
  }

  statement {
    sid       = "ReadConfigSecret"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.config_secret_arn]
  }

  source_policy_documents = concat(
    data.aws_iam_policy_document.presign_artifacts[*].json,
    data.aws_iam_policy_document.kms_decrypt[*].json,
  )
}

# Config entries with use_credentials_chain sign with this role's credentials, and S3 authorises a
# presigned GET (or HEAD, which GetObject covers) as the signer: the role itself must be able to read
# the objects. Nothing else: no listing, no writing.
data "aws_iam_policy_document" "presign_artifacts" {
  count = local.grant_artifact_buckets ? 1 : 0

  statement {
    sid       = "ReadArtifactsForSignedUrls"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [for arn in var.artifact_bucket_arns : "${arn}/*"]
  }
}

resource "aws_iam_role_policy" "presign" {
  name   = "${var.name}-presign"
  role   = aws_iam_role.presign.id
  policy = data.aws_iam_policy_document.presign.json
}

################################################################################
# Cleanup
################################################################################

resource "aws_iam_role" "cleanup" {
  name               = "${var.name}-cleanup"
  description        = "storagegate cleanup function (${local.cleanup_function_name})"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "cleanup" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.cleanup.arn}:*"]
  }

  statement {
    sid       = "ReadConfigSecret"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.config_secret_arn]
  }

  # What the Lambda SQS event source does with the function's role (AWS documents these three; the
  # poller, not the function, receives and deletes). No ChangeMessageVisibility: neither the poller
  # nor the function calls it, a failed message simply becomes visible when its timeout ends.
  statement {
    sid       = "ConsumeCleanupQueue"
    effect    = "Allow"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.cleanup.arn]
  }

  source_policy_documents = concat(
    data.aws_iam_policy_document.cleanup_artifacts[*].json,
    data.aws_iam_policy_document.kms_decrypt[*].json,
  )
}

# For config entries with use_credentials_chain, the deletions run as this role.
data "aws_iam_policy_document" "cleanup_artifacts" {
  count = local.grant_artifact_buckets ? 1 : 0

  # Prefixes are listed page by page (ListObjectsV2). It also makes S3 answer 404 rather than 403 for
  # a missing key, which cleanup counts as already deleted.
  statement {
    sid       = "ListArtifactPrefixes"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = var.artifact_bucket_arns
  }

  # DeleteObjects is authorised per key as s3:DeleteObject. s3:GetObject is for HeadObject, which
  # cleanup sends for each listed URL when a message carries `created` (keep objects modified after
  # it) or dry_run (count what exists).
  statement {
    sid       = "StatAndDeleteArtifacts"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:DeleteObject"]
    resources = [for arn in var.artifact_bucket_arns : "${arn}/*"]
  }
}

resource "aws_iam_role_policy" "cleanup" {
  name   = "${var.name}-cleanup"
  role   = aws_iam_role.cleanup.id
  policy = data.aws_iam_policy_document.cleanup.json
}

################################################################################
# Producers of deletion messages
################################################################################

# Not attached to anything: the policy a producer (the ClearML server's side, `storagegate enqueue`)
# needs, exported as the cleanup_sender_policy_json output. SQS-managed encryption needs no KMS grant.
data "aws_iam_policy_document" "cleanup_sender" {
  statement {
    sid       = "SendDeletionMessages"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.cleanup.arn]
  }
}
