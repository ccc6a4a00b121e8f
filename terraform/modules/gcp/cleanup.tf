# Cleanup: deletion messages are published to a topic; a push subscription
# that this module owns delivers each one to the (private) Cleanup function,
# redelivers it with backoff while the function answers non-2xx, and after
# max_delivery_attempts moves it to a dead-letter topic.
#
# Why not the function's own event_trigger: with event_trigger, Eventarc
# creates and owns the push subscription, and neither
# google_cloudfunctions2_function (event_trigger has only retry_policy) nor
# google_eventarc_trigger can set a dead_letter_policy on it
# (hashicorp/terraform-provider-google#25069, #17697; editing the managed
# subscription afterwards is overwritten by Eventarc and invisible to
# Terraform). Google also recommends a direct Pub/Sub push subscription over
# an Eventarc trigger when the extra routing is not needed. The Functions
# Framework turns the push request into the same CloudEvent an Eventarc
# trigger would deliver.

locals {
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  # Kept for 7 days: Pub/Sub's longest retention, time to notice and redrive.
  retention = "604800s"
}

resource "google_pubsub_topic" "cleanup" {
  project = var.project
  name    = "${var.name}-cleanup"
  labels  = var.labels

  depends_on = [google_project_service.this]
}

resource "google_pubsub_topic" "dead_letter" {
  project = var.project
  name    = "${var.name}-cleanup-dead-letter"
  labels  = var.labels

  depends_on = [google_project_service.this]
}

resource "google_cloudfunctions2_function" "cleanup" {
  project     = var.project
  location    = var.region
  name        = "${var.name}-cleanup"
  description = "storagegate cleanup: deletes a ClearML task's artifacts, one Pub/Sub message at a time."
  labels      = var.labels

  build_config {
    runtime         = var.runtime
    entry_point     = "Cleanup"
    service_account = local.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.cleanup.email
    # Pub/Sub in the same project counts as internal traffic when it pushes
    # to the run.app URL; nothing else needs to reach this function.
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    available_memory               = var.cleanup_memory
    # One message per instance: the deleter runs its own concurrency
    # (cleanup.concurrency) and its deadline assumes the instance is its own.
    max_instance_request_concurrency = 1
    timeout_seconds                  = var.cleanup_timeout_seconds
    max_instance_count               = var.cleanup_max_instances

    secret_environment_variables {
      key        = local.config_env
      project_id = var.project
      secret     = local.config_secret_id
      version    = local.config_secret_version
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.cleanup_reads_config,
    google_storage_bucket_iam_member.build_reads_source,
  ]
}

locals {
  cleanup_service = regex("[^/]+$", google_cloudfunctions2_function.cleanup.service_config[0].service)
  cleanup_uri     = google_cloudfunctions2_function.cleanup.service_config[0].uri
}

# The identity Pub/Sub presents (an OIDC token) when it pushes a message. It
# can do one thing: invoke the cleanup function (and, with sweep_schedule,
# the sweep function). Neither function is public.
resource "google_service_account" "push" {
  project      = var.project
  account_id   = "${var.name}-push"
  display_name = "storagegate cleanup push"
  description  = "Identity of the Pub/Sub push subscriptions that invoke the cleanup and sweep functions."

  depends_on = [google_project_service.this]
}

resource "google_cloud_run_service_iam_member" "push_invokes_cleanup" {
  project  = var.project
  location = var.region
  service  = local.cleanup_service
  role     = "roles/run.invoker"
  member   = google_service_account.push.member
}

# Pub/Sub's service agent mints the push identity's OIDC token. Projects
# created after 8 April 2021 give it that right through its own role; older
# ones need Token Creator, granted here on the push identity only (not on
# the project), which costs nothing where it is redundant.
resource "google_service_account_iam_member" "pubsub_mints_push_tokens" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent

  # The service agent is provisioned with the Pub/Sub API; a topic existing
  # means it does.
  depends_on = [google_pubsub_topic.cleanup]
}

resource "google_pubsub_subscription" "cleanup" {
  project = var.project
  name    = "${var.name}-cleanup-push"
  topic   = google_pubsub_topic.cleanup.id
  labels  = var.labels

  # A push is outstanding until the function answers; the function may run
  # for its whole timeout, so the ack deadline is that timeout (Pub/Sub
  # allows up to 600 s, hence the variable's limit).
  ack_deadline_seconds       = var.cleanup_timeout_seconds
  message_retention_duration = local.retention

  push_config {
    # The path names the topic: the Functions Framework takes the CloudEvent's
    # source from it when it converts a plain push request.
    push_endpoint = "${local.cleanup_uri}/${google_pubsub_topic.cleanup.id}"

    oidc_token {
      service_account_email = google_service_account.push.email
      # Cloud Run accepts a token whose audience is the service URL.
      audience = local.cleanup_uri
    }
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  # An idle subscription is deleted after 31 days by default; cleanup may
  # be idle for longer.
  expiration_policy {
    ttl = ""
  }

  lifecycle {
    precondition {
      condition     = tonumber(trimsuffix(var.retry_minimum_backoff, "s")) <= tonumber(trimsuffix(var.retry_maximum_backoff, "s"))
      error_message = "retry_minimum_backoff must not be longer than retry_maximum_backoff."
    }
  }

  depends_on = [
    google_cloud_run_service_iam_member.push_invokes_cleanup,
    google_service_account_iam_member.pubsub_mints_push_tokens,
  ]
}

# Dead-lettering is done by Pub/Sub's service agent: it must be able to
# publish to the dead-letter topic and to acknowledge (remove) the message
# on the source subscription. Without these two bindings failed messages are
# redelivered forever instead.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  project      = var.project
  subscription = google_pubsub_subscription.cleanup.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# A topic keeps nothing without a subscription: this one holds what was
# dead-lettered, for inspection and for redriving (publish it to the cleanup
# topic again once the cause is fixed; deletion is idempotent).
resource "google_pubsub_subscription" "dead_letter" {
  project = var.project
  name    = "${var.name}-cleanup-dead-letter"
  topic   = google_pubsub_topic.dead_letter.id
  labels  = var.labels

  message_retention_duration = local.retention
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = ""
  }
}
