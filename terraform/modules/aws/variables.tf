################################################################################
# Naming
################################################################################

variable "name" {
  description = "Prefix of every resource name (functions, queues, roles, log groups, secret). IAM role names are global to the account, so two deployments of the module in one account need different names."
  type        = string
  default     = "storagegate"

  validation {
    # The longest derived name, "<name>-cleanup-dlq", must stay within the 64 characters of an IAM role
    # or Lambda function name with room to spare.
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name))
    error_message = "name must be 1 to 40 letters, digits, hyphens or underscores."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
}

################################################################################
# Packages built by `make package`
################################################################################

variable "architecture" {
  description = "Instruction set of every function: \"arm64\" (Graviton, cheaper per GB-second) or \"x86_64\". The zips must be the matching build: presign-lambda-arm64.zip / presign-lambda-amd64.zip, and likewise cleanup and sweep."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "presign_zip" {
  description = "Path of the presign function's zip built by `make package` (bin/package/presign-lambda-<arm64|amd64>.zip), holding the executable `bootstrap`."
  type        = string

  validation {
    condition     = fileexists(var.presign_zip)
    error_message = "presign_zip names no file: run `make package` first, or fix the path."
  }
}

variable "cleanup_zip" {
  description = "Path of the cleanup function's zip built by `make package` (bin/package/cleanup-lambda-<arm64|amd64>.zip), holding the executable `bootstrap`."
  type        = string

  validation {
    condition     = fileexists(var.cleanup_zip)
    error_message = "cleanup_zip names no file: run `make package` first, or fix the path."
  }
}

################################################################################
# Configuration document
################################################################################

variable "config" {
  description = "The storagegate configuration document (YAML or JSON, README \"Configuration\"), stored by the module in a new Secrets Manager secret. Give exactly one of config and config_secret_arn. The value also lands in the Terraform state: keep the state encrypted, or create the secret yourself and pass config_secret_arn."
  type        = string
  default     = null
  sensitive   = true
}

variable "config_secret_arn" {
  description = "Full ARN (with the 6-character suffix Secrets Manager adds) of an existing secret holding the configuration document; the module then creates no secret. Give exactly one of config and config_secret_arn. If the secret is encrypted with a customer managed key, list that key in kms_key_arns."
  type        = string
  default     = null

  validation {
    condition     = var.config_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.config_secret_arn))
    error_message = "config_secret_arn must be a full secret ARN, ending in the 6-character suffix (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf): IAM does not match a partial ARN."
  }
}

################################################################################
# What the functions may reach
################################################################################

variable "artifact_bucket_arns" {
  description = "ARNs (arn:aws:s3:::<bucket>) of the AWS buckets the functions' own role reaches, for config entries with use_credentials_chain: presign gets s3:GetObject on their objects (a URL it signs carries the role's permissions), cleanup s3:ListBucket, s3:GetObject and s3:DeleteObject. Leave empty when every entry has its own key/secret, or for non-AWS (MinIO, ...) hosts."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.artifact_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", arn))])
    error_message = "Each artifact_bucket_arns entry must be a bucket ARN such as arn:aws:s3:::my-artifacts (no key, no wildcard)."
  }
}

variable "kms_key_arns" {
  description = "ARNs of KMS keys the functions may kms:Decrypt with: the customer managed key of an existing config secret, and the keys of SSE-KMS encrypted artifact objects that presign signs for with its role. Empty: no KMS permission."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", arn))])
    error_message = "Each kms_key_arns entry must be a key ARN (arn:aws:kms:<region>:<account>:key/<id>); IAM does not match aliases."
  }
}

################################################################################
# Presign function
################################################################################

variable "presign_memory_size" {
  description = "Memory of the presign function in MB (CPU grows with it)."
  type        = number
  default     = 256

  validation {
    condition     = var.presign_memory_size >= 128 && var.presign_memory_size <= 10240 && floor(var.presign_memory_size) == var.presign_memory_size
    error_message = "presign_memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "presign_timeout" {
  description = "Timeout of the presign function in seconds. One request makes at most one ClearML call (clearml.timeout, default 5s) and signs locally."
  type        = number
  default     = 10

  validation {
    condition     = var.presign_timeout >= 1 && var.presign_timeout <= 900 && floor(var.presign_timeout) == var.presign_timeout
    error_message = "presign_timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "cors_allowed_origins" {
  description = "Exact origins (scheme://host[:port], e.g. https://app.clearml.example.com) whose pages may call the JSON and batch forms with credentials. The function URL answers CORS for these; keep them equal to presign.cors_origins in the config. Empty: no CORS."
  type        = list(string)
  default     = []

  validation {
    # README "The HTTP contract": credentialed CORS for exact origins only, never "*".
    condition     = alltrue([for o in var.cors_allowed_origins : can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", o))])
    error_message = "Each cors_allowed_origins entry must be an exact origin such as https://app.clearml.example.com: no \"*\", no path, no trailing slash."
  }

  validation {
    condition     = length(var.cors_allowed_origins) <= 100
    error_message = "A function URL takes at most 100 CORS origins."
  }
}

variable "presign_match_regex" {
  description = "Regex of the match_sets rule in the clearml_services_setting output: which storage links the ClearML web app sends to presign."
  type        = string
  default     = "^s3://"

  validation {
    condition     = can(regexall(var.presign_match_regex, ""))
    error_message = "presign_match_regex must be a valid regular expression."
  }
}

################################################################################
# Cleanup function and queues
################################################################################

variable "cleanup_memory_size" {
  description = "Memory of the cleanup function in MB. A batch runs up to 10 messages side by side, each with cleanup.concurrency workers."
  type        = number
  default     = 512

  validation {
    condition     = var.cleanup_memory_size >= 128 && var.cleanup_memory_size <= 10240 && floor(var.cleanup_memory_size) == var.cleanup_memory_size
    error_message = "cleanup_memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "cleanup_timeout" {
  description = "Timeout of the cleanup function in seconds; the function's remaining time is the deletion deadline. The queue's visibility timeout follows it (six times it, plus the batching window)."
  type        = number
  default     = 300

  validation {
    condition     = var.cleanup_timeout >= 1 && var.cleanup_timeout <= 900 && floor(var.cleanup_timeout) == var.cleanup_timeout
    error_message = "cleanup_timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "cleanup_reserved_concurrency" {
  description = "Reserved concurrency of the cleanup function, or null for none. To bound how many batches run at once, prefer cleanup_maximum_concurrency: Lambda throttling messages that it already received counts as a receive and can send them to the dead-letter queue early."
  type        = number
  default     = null

  validation {
    condition     = var.cleanup_reserved_concurrency == null || try(var.cleanup_reserved_concurrency >= 1 && floor(var.cleanup_reserved_concurrency) == var.cleanup_reserved_concurrency, false)
    error_message = "cleanup_reserved_concurrency must be null or a whole number of at least 1 (0 would stop the function)."
  }
}

variable "cleanup_maximum_concurrency" {
  description = "Most cleanup invocations the SQS event source runs at once (its scaling_config), or null for Lambda's default. The throttle-free way to spare the stores."
  type        = number
  default     = null

  validation {
    condition     = var.cleanup_maximum_concurrency == null || try(var.cleanup_maximum_concurrency >= 2 && var.cleanup_maximum_concurrency <= 1000 && floor(var.cleanup_maximum_concurrency) == var.cleanup_maximum_concurrency, false)
    error_message = "cleanup_maximum_concurrency must be null or a whole number from 2 to 1000."
  }
}

variable "cleanup_batch_size" {
  description = "Most messages handed to one cleanup invocation. Above 10, cleanup_batching_window_seconds must be at least 1."
  type        = number
  default     = 5

  validation {
    condition     = var.cleanup_batch_size >= 1 && var.cleanup_batch_size <= 10000 && floor(var.cleanup_batch_size) == var.cleanup_batch_size
    error_message = "cleanup_batch_size must be a whole number from 1 to 10000."
  }
}

variable "cleanup_batching_window_seconds" {
  description = "Seconds the event source may wait to fill a batch (0: hand messages over as they come)."
  type        = number
  default     = 0

  validation {
    condition     = var.cleanup_batching_window_seconds >= 0 && var.cleanup_batching_window_seconds <= 300 && floor(var.cleanup_batching_window_seconds) == var.cleanup_batching_window_seconds
    error_message = "cleanup_batching_window_seconds must be a whole number from 0 to 300."
  }
}

variable "max_receive_count" {
  description = "Deliveries of a message before SQS moves it to the dead-letter queue. Every failure (transient or permanent) is one; redelivery is idempotent."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "cleanup_visibility_timeout_seconds" {
  description = "Visibility timeout of the cleanup queue in seconds, or null to compute it: six times cleanup_timeout plus cleanup_batching_window_seconds, as AWS recommends for Lambda event sources. A value given must be at least that."
  type        = number
  default     = null

  validation {
    condition     = var.cleanup_visibility_timeout_seconds == null || try(var.cleanup_visibility_timeout_seconds <= 43200 && floor(var.cleanup_visibility_timeout_seconds) == var.cleanup_visibility_timeout_seconds, false)
    error_message = "cleanup_visibility_timeout_seconds must be null or a whole number of seconds up to 43200 (12 hours)."
  }
}

################################################################################
# Logs
################################################################################

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the functions' logs (0: forever)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

################################################################################
# Custom domain (browsers)
################################################################################

variable "custom_domain" {
  description = <<-EOT
    Serve presign on a domain of yours through CloudFront, or null for the bare function URL. Browsers need it
    (README "Browsers need a custom domain"): the ClearML session cookie reaches only a subdomain of the ClearML domain, e.g. presign.clearml.example.com,
    with the ClearML server's cookie domain set to the parent (.clearml.example.com).
    - domain_name: the host name, e.g. "presign.clearml.example.com"; point a CNAME (or Route 53 alias) at the
      cloudfront_domain_name output.
    - acm_certificate_arn: an issued ACM certificate covering domain_name, in us-east-1 (CloudFront takes
      certificates from that region only, wherever the functions run).
    - price_class: CloudFront price class (PriceClass_All, PriceClass_200 or PriceClass_100).
  EOT
  type = object({
    domain_name         = string
    acm_certificate_arn = string
    price_class         = optional(string, "PriceClass_All")
  })
  default = null

  validation {
    condition     = var.custom_domain == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$", var.custom_domain.domain_name))
    error_message = "custom_domain.domain_name must be a lower-case host name such as presign.clearml.example.com (no scheme, no path)."
  }

  validation {
    condition     = var.custom_domain == null || can(regex("^arn:aws:acm:us-east-1:[0-9]{12}:certificate/[A-Za-z0-9-]+$", var.custom_domain.acm_certificate_arn))
    error_message = "custom_domain.acm_certificate_arn must be an ACM certificate ARN in us-east-1, the only region CloudFront takes certificates from."
  }

  validation {
    condition     = var.custom_domain == null || try(contains(["PriceClass_All", "PriceClass_200", "PriceClass_100"], var.custom_domain.price_class), false)
    error_message = "custom_domain.price_class must be PriceClass_All, PriceClass_200 or PriceClass_100."
  }
}

################################################################################
# Sweeper
################################################################################

variable "sweep_schedule" {
  description = "EventBridge schedule of the retention sweeper, e.g. \"cron(0 3 * * ? *)\" or \"rate(1 day)\"; null leaves it out. The policy is the config's sweep section (sweep.older_than must be set)."
  type        = string
  default     = null

  validation {
    condition     = var.sweep_schedule == null || can(regex("^(rate|cron)\\(.+\\)$", var.sweep_schedule))
    error_message = "sweep_schedule must be an EventBridge schedule expression: rate(...) or cron(...)."
  }
}

variable "sweep_zip" {
  description = "Path of the sweep Lambda zip (bin/package/sweep-lambda-<arch>.zip from make package); required with sweep_schedule."
  type        = string
  default     = null
}

variable "sweep_timeout" {
  description = "Timeout of the sweep function in seconds; a run stops starting tasks a margin before it, and the next run continues."
  type        = number
  default     = 900

  validation {
    condition     = var.sweep_timeout >= 60 && var.sweep_timeout <= 900 && floor(var.sweep_timeout) == var.sweep_timeout
    error_message = "sweep_timeout must be a whole number of seconds from 60 to 900 (Lambda's maximum)."
  }
}

variable "sweep_memory_size" {
  description = "Memory of the sweep function in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.sweep_memory_size >= 128 && var.sweep_memory_size <= 10240 && floor(var.sweep_memory_size) == var.sweep_memory_size
    error_message = "sweep_memory_size must be a whole number of MB from 128 to 10240."
  }
}
