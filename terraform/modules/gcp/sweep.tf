# Retention sweeper (README "Retention sweeper"), on when sweep_schedule is set: a Cloud Scheduler job
# publishes to the sweep topic, whose push subscription (the same pattern as cleanup's) invokes the
# private Sweep function. The function lists and deletes ClearML tasks with the service credentials in
# the config and publishes their files to the cleanup topic; it never touches a bucket itself.

locals {
  sweep_enabled = var.sweep_schedule != null
  sweep_service = local.sweep_enabled ? regex("[^/]+$", google_cloudfunctions2_function.sweep[0].service_config[0].service) : null
  sweep_uri     = local.sweep_enabled ? google_cloudfunctions2_function.sweep[0].service_config[0].uri : null
}

resource "google_project_service" "sweep" {
  for_each = var.enable_apis && local.sweep_enabled ? toset(["cloudscheduler.googleapis.com"]) : toset([])

  project            = var.project
  service            = each.value
  disable_on_destroy = false
}

resource "google_service_account" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  project      = var.project
  account_id   = "${var.name}-sweep"
  display_name = "storagegate sweep"
  description  = "Runs the Sweep function: reads the config and publishes deletion messages to the cleanup topic."

  depends_on = [google_project_service.this]
}

# Publish to the cleanup topic, read the config: nothing else.
resource "google_pubsub_topic_iam_member" "sweep_publishes_cleanup" {
  count = local.sweep_enabled ? 1 : 0

  project = var.project
  topic   = google_pubsub_topic.cleanup.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.sweep[0].member
}

resource "google_secret_manager_secret_iam_member" "sweep_reads_config" {
  count = local.sweep_enabled ? 1 : 0

  project   = var.project
  secret_id = local.config_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.sweep[0].member
}

resource "google_pubsub_topic" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  project = var.project
  name    = "${var.name}-sweep"
  labels  = var.labels

  depends_on = [google_project_service.this]
}

resource "google_cloudfunctions2_function" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  project     = var.project
  location    = var.region
  name        = "${var.name}-sweep"
  description = "storagegate sweep: deletes old ClearML tasks on a schedule and queues their files for cleanup."
  labels      = var.labels

  build_config {
    runtime         = var.runtime
    entry_point     = "Sweep"
    service_account = local.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email          = google_service_account.sweep[0].email
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    available_memory               = var.sweep_memory
    # One run at a time: two runs would select the same tasks.
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    # A run is bounded by the config's cleanup.deadline (Cloud Functions does not tell a function its
    # remaining time): keep it below this timeout.
    timeout_seconds = var.sweep_timeout_seconds

    environment_variables = {
      STORAGEGATE_PUBSUB_TOPIC = google_pubsub_topic.cleanup.id
    }

    secret_environment_variables {
      key        = local.config_env
      project_id = var.project
      secret     = local.config_secret_id
      version    = local.config_secret_version
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.sweep_reads_config,
    google_storage_bucket_iam_member.build_reads_source,
  ]
}

resource "google_cloud_run_service_iam_member" "push_invokes_sweep" {
  count = local.sweep_enabled ? 1 : 0

  project  = var.project
  location = var.region
  service  = local.sweep_service
  role     = "roles/run.invoker"
  member   = google_service_account.push.member
}

resource "google_pubsub_subscription" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  project = var.project
  name    = "${var.name}-sweep-push"
  topic   = google_pubsub_topic.sweep[0].id
  labels  = var.labels

  ack_deadline_seconds = var.sweep_timeout_seconds
  # A tick that could not be delivered for an hour is not worth keeping: the next one comes.
  message_retention_duration = "3600s"

  push_config {
    push_endpoint = "${local.sweep_uri}/${google_pubsub_topic.sweep[0].id}"

    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = local.sweep_uri
    }
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_service_iam_member.push_invokes_sweep,
    google_service_account_iam_member.pubsub_mints_push_tokens,
  ]
}

resource "google_cloud_scheduler_job" "sweep" {
  count = local.sweep_enabled ? 1 : 0

  project     = var.project
  region      = var.region
  name        = "${var.name}-sweep"
  description = "storagegate retention sweep"
  schedule    = var.sweep_schedule
  time_zone   = var.sweep_time_zone

  pubsub_target {
    topic_name = google_pubsub_topic.sweep[0].id
    data       = base64encode(jsonencode({ job = "${var.name}-sweep" }))
  }

  depends_on = [google_project_service.sweep]
}
