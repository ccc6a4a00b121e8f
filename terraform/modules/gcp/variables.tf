variable "project" {
  description = "Google Cloud project id everything is created in."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "project must be a project id (6-30 lower-case letters, digits and hyphens), not its name or number."
  }
}

variable "region" {
  description = "Region of the functions, the source bucket and the domain mapping, e.g. europe-west1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1."
  }
}

variable "name" {
  description = "Prefix of every resource name (functions, service accounts, topics, secret, bucket)."
  type        = string
  default     = "storagegate"

  validation {
    # Service account ids are at most 30 characters and the longest suffix is "-presign"/"-cleanup".
    condition     = can(regex("^[a-z][a-z0-9-]{0,20}[a-z0-9]$", var.name))
    error_message = "name must be 2-22 lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "labels" {
  description = "Labels put on every resource that takes them."
  type        = map(string)
  default     = {}
}

variable "source_zip" {
  description = "Path to the Cloud Functions source zip built by `make package` (bin/package/gcp-source.zip)."
  type        = string

  validation {
    condition     = endswith(var.source_zip, ".zip")
    error_message = "source_zip must be the path of a .zip file (bin/package/gcp-source.zip)."
  }
}

variable "config" {
  description = "The storagegate configuration document (YAML or JSON). Stored in a new Secret Manager secret. Set this or config_secret_id, not both."
  type        = string
  default     = null
  sensitive   = true
}

variable "config_secret_id" {
  description = "Id (short name) of an existing Secret Manager secret in `project` that holds the configuration. Set this or config, not both."
  type        = string
  default     = null

  validation {
    condition     = var.config_secret_id == null || can(regex("^[A-Za-z0-9_-]{1,255}$", var.config_secret_id))
    error_message = "config_secret_id must be a secret's short id (letters, digits, - and _), not its resource name."
  }
}

variable "config_secret_version" {
  description = "Version of config_secret_id the functions read. Ignored with config, where the module pins the version it writes."
  type        = string
  default     = "latest"

  validation {
    condition     = can(regex("^(latest|[1-9][0-9]*)$", var.config_secret_version))
    error_message = "config_secret_version must be \"latest\" or a version number."
  }
}

variable "runtime" {
  description = "Cloud Functions runtime id. storagegate's go.mod needs Go 1.26, so go126 or newer."
  type        = string
  default     = "go126"

  validation {
    condition     = can(regex("^go1[0-9]{2}$", var.runtime)) && try(tonumber(substr(var.runtime, 2, -1)) >= 126, false)
    error_message = "runtime must be a Go runtime id at least go126 (the module needs Go 1.26)."
  }
}

variable "build_service_account" {
  description = "Email of the service account Cloud Build uses to build the functions. null uses the project's default (the Compute Engine default service account, which new organizations no longer give the roles a build needs)."
  type        = string
  default     = null

  validation {
    condition     = var.build_service_account == null || can(regex("^[^@\\s]+@[^@\\s]+\\.iam\\.gserviceaccount\\.com$", var.build_service_account))
    error_message = "build_service_account must be a service account email (...@....iam.gserviceaccount.com)."
  }
}

variable "artifact_buckets" {
  description = "Names of the Cloud Storage buckets the functions may read (presign) and list and delete in (cleanup). The configuration's storage.google entries should name the same buckets."
  type        = set(string)
  default     = []

  validation {
    condition     = alltrue([for b in var.artifact_buckets : can(regex("^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$", b))])
    error_message = "artifact_buckets must hold bucket names, without gs:// or a path."
  }
}

variable "enable_apis" {
  description = "Enable the Google APIs the deployment needs. They are left enabled on destroy, since other things in the project may use them."
  type        = bool
  default     = true
}

variable "presign_memory" {
  description = "Memory of the presign function (Cloud Run quantity, e.g. 256M, 512M, 1G; at most 4G while presign_concurrency gives it one vCPU)."
  type        = string
  default     = "256M"

  validation {
    condition     = can(regex("^[0-9]+(M|Mi|G|Gi)$", var.presign_memory))
    error_message = "presign_memory must be a quantity such as 256M or 1Gi."
  }
}

variable "presign_timeout_seconds" {
  description = "Request timeout of the presign function, in seconds."
  type        = number
  default     = 30

  validation {
    condition     = var.presign_timeout_seconds >= 1 && var.presign_timeout_seconds <= 3600 && floor(var.presign_timeout_seconds) == var.presign_timeout_seconds
    error_message = "presign_timeout_seconds must be a whole number between 1 and 3600."
  }
}

variable "presign_min_instances" {
  description = "Instances of the presign function kept warm (0 scales to zero; 1 avoids cold starts for the first browser of the day)."
  type        = number
  default     = 0

  validation {
    condition     = var.presign_min_instances >= 0 && floor(var.presign_min_instances) == var.presign_min_instances
    error_message = "presign_min_instances must be a whole number, 0 or more."
  }
}

variable "presign_max_instances" {
  description = "Most instances of the presign function."
  type        = number
  default     = 10

  validation {
    condition     = var.presign_max_instances >= 1 && floor(var.presign_max_instances) == var.presign_max_instances
    error_message = "presign_max_instances must be a whole number, 1 or more."
  }
}

variable "presign_concurrency" {
  description = "Requests one presign instance serves at once. Above 1 the function gets a whole vCPU (Cloud Run's rule); one instance then shares its signed-URL and caller caches across requests."
  type        = number
  default     = 80

  validation {
    condition     = var.presign_concurrency >= 1 && var.presign_concurrency <= 1000 && floor(var.presign_concurrency) == var.presign_concurrency
    error_message = "presign_concurrency must be a whole number between 1 and 1000."
  }
}

variable "cleanup_memory" {
  description = "Memory of the cleanup function (Cloud Run quantity, e.g. 256M, 512M, 1G)."
  type        = string
  default     = "512M"

  validation {
    condition     = can(regex("^[0-9]+(M|Mi|G|Gi)$", var.cleanup_memory))
    error_message = "cleanup_memory must be a quantity such as 512M or 1Gi."
  }
}

variable "cleanup_timeout_seconds" {
  description = "Timeout of the cleanup function, in seconds; also the push subscription's ack deadline, so at most 600 (Pub/Sub's limit). Keep the configuration's cleanup.deadline below it."
  type        = number
  default     = 540

  validation {
    condition     = var.cleanup_timeout_seconds >= 10 && var.cleanup_timeout_seconds <= 600 && floor(var.cleanup_timeout_seconds) == var.cleanup_timeout_seconds
    error_message = "cleanup_timeout_seconds must be a whole number between 10 and 600 (the ack deadline Pub/Sub allows)."
  }
}

variable "cleanup_max_instances" {
  description = "Most instances of the cleanup function. Each takes one message at a time and deletes with its own concurrency (cleanup.concurrency). A push refused because every instance is busy counts as a delivery attempt: size this for your bursts."
  type        = number
  default     = 10

  validation {
    condition     = var.cleanup_max_instances >= 1 && floor(var.cleanup_max_instances) == var.cleanup_max_instances
    error_message = "cleanup_max_instances must be a whole number, 1 or more."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries of a cleanup message before it goes to the dead-letter topic."
  type        = number
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100 && floor(var.max_delivery_attempts) == var.max_delivery_attempts
    error_message = "max_delivery_attempts must be a whole number between 5 and 100 (Pub/Sub's limits)."
  }
}

variable "retry_minimum_backoff" {
  description = "Shortest wait before a failed cleanup message is redelivered (Pub/Sub duration, e.g. \"10s\")."
  type        = string
  default     = "10s"

  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?s$", var.retry_minimum_backoff)) && try(tonumber(trimsuffix(var.retry_minimum_backoff, "s")) <= 600, false)
    error_message = "retry_minimum_backoff must be a duration in seconds such as \"10s\", at most \"600s\"."
  }
}

variable "retry_maximum_backoff" {
  description = "Longest wait before a failed cleanup message is redelivered (Pub/Sub duration, at most \"600s\")."
  type        = string
  default     = "600s"

  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?s$", var.retry_maximum_backoff)) && try(tonumber(trimsuffix(var.retry_maximum_backoff, "s")) <= 600, false)
    error_message = "retry_maximum_backoff must be a duration in seconds such as \"600s\", at most \"600s\"."
  }
}

variable "custom_domain" {
  description = "Host name (e.g. presign.clearml.example.com) mapped to the presign function with a Cloud Run domain mapping, so that browsers send the ClearML cookie (README: \"Browsers need a custom domain\"). The domain must be verified for the deploying account; null maps none."
  type        = string
  default     = null

  validation {
    condition     = var.custom_domain == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.custom_domain))
    error_message = "custom_domain must be a lower-case host name such as presign.clearml.example.com, without scheme or path."
  }
}

variable "clearml_url_regex" {
  description = "Regex of the storage URLs the ClearML web app sends to presign, in the clearml_services_setting output."
  type        = string
  default     = "^gs://"
}

# Sweeper

variable "sweep_schedule" {
  description = "Cloud Scheduler schedule (unix cron) of the retention sweeper, e.g. \"0 3 * * *\"; null leaves it out. The policy is the config's sweep section (sweep.older_than must be set)."
  type        = string
  default     = null

  validation {
    condition     = var.sweep_schedule == null || length(split(" ", trimspace(coalesce(var.sweep_schedule, "x")))) == 5
    error_message = "sweep_schedule must be a five-field unix cron expression such as \"0 3 * * *\"."
  }
}

variable "sweep_time_zone" {
  description = "Time zone of sweep_schedule (tz database name)."
  type        = string
  default     = "Etc/UTC"
}

variable "sweep_memory" {
  description = "Memory of the Sweep function (Cloud Run quantity, e.g. 256M, 512M, 1G)."
  type        = string
  default     = "256M"

  validation {
    condition     = can(regex("^[0-9]+(M|Mi|G|Gi)$", var.sweep_memory))
    error_message = "sweep_memory must be a quantity such as 256M or 1Gi."
  }
}

variable "sweep_timeout_seconds" {
  description = "Timeout of the Sweep function, also its subscription's ack deadline; keep the config's cleanup.deadline below it."
  type        = number
  default     = 300

  validation {
    condition     = var.sweep_timeout_seconds >= 60 && var.sweep_timeout_seconds <= 600
    error_message = "sweep_timeout_seconds must be between 60 and 600 (Pub/Sub's longest ack deadline)."
  }
}
