resource "google_cloudfunctions2_function" "presign" {
  project     = var.project
  location    = var.region
  name        = "${var.name}-presign"
  description = "storagegate presign: checks the caller's ClearML login and redirects to a signed Cloud Storage URL."
  labels      = var.labels

  build_config {
    runtime         = var.runtime
    entry_point     = "Presign"
    service_account = local.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.presign.email
    # Browsers and scripts call it from anywhere; the ClearML check in the
    # function is the authentication.
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    available_memory               = var.presign_memory
    # Cloud Run serves more than one request per instance only with at least
    # one whole vCPU.
    available_cpu                    = var.presign_concurrency > 1 ? "1" : null
    max_instance_request_concurrency = var.presign_concurrency
    timeout_seconds                  = var.presign_timeout_seconds
    min_instance_count               = var.presign_min_instances
    max_instance_count               = var.presign_max_instances

    secret_environment_variables {
      key        = local.config_env
      project_id = var.project
      secret     = local.config_secret_id
      version    = local.config_secret_version
    }
  }

  lifecycle {
    precondition {
      condition     = (var.config == null) != (var.config_secret_id == null)
      error_message = "Set exactly one of config (the document; the module stores it in Secret Manager) and config_secret_id (an existing secret)."
    }
  }

  # The deployment checks that the runtime identity can read the secret.
  depends_on = [
    google_secret_manager_secret_iam_member.presign_reads_config,
    google_storage_bucket_iam_member.build_reads_source,
  ]
}

locals {
  # service_config.service is the Cloud Run service's resource name
  # (projects/.../locations/.../services/NAME); domain mappings want NAME.
  presign_service = regex("[^/]+$", google_cloudfunctions2_function.presign.service_config[0].service)
}

# Public on purpose: the function authenticates every request itself against
# ClearML (401 without a valid ClearML credential), as the AWS function URL
# with auth type NONE does. A gen2 function is invoked through its Cloud Run
# service, so the invoker grant is run.invoker on that service
# (roles/cloudfunctions.invoker on the function does not reach it).
resource "google_cloud_run_service_iam_member" "presign_public" {
  project  = var.project
  location = var.region
  service  = local.presign_service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Browsers send the ClearML session cookie only to a host under the ClearML
# domain (README "Browsers need a custom domain"), never to *.run.app. A Cloud Run domain mapping serves the
# function's service on such a host with a Google-managed certificate. The
# domain must be verified (Search Console) by the deploying account, the DNS
# records in the custom_domain_dns_records output must be created, and domain
# mappings exist only in some regions; where they cannot be used, put a global
# external Application Load Balancer with a serverless NEG in front instead
# (README).
resource "google_cloud_run_domain_mapping" "presign" {
  count = var.custom_domain == null ? 0 : 1

  project  = var.project
  location = var.region
  name     = var.custom_domain

  metadata {
    namespace = var.project
  }

  spec {
    route_name = local.presign_service
  }
}
