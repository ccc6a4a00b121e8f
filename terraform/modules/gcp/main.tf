locals {
  # The module writes the configuration into a secret of its own unless the
  # caller names an existing one. Decided on config_secret_id, which is not
  # sensitive: a value derived from the sensitive config cannot drive count.
  create_secret = var.config_secret_id == null

  config_secret_id = local.create_secret ? google_secret_manager_secret.config[0].secret_id : var.config_secret_id
  # With the module's own secret the functions are pinned to the version it
  # wrote, so a changed config deploys a new revision that reads it (an
  # instance reads STORAGEGATE_CONFIG once, at start-up).
  config_secret_version = local.create_secret ? google_secret_manager_secret_version.config[0].version : var.config_secret_version

  build_service_account = var.build_service_account == null ? null : "projects/${var.project}/serviceAccounts/${var.build_service_account}"

  # The one environment variable storagegate reads its configuration from (README "Configuration").
  config_env = "STORAGEGATE_CONFIG"

  apis = toset([
    "artifactregistry.googleapis.com", # images of the built functions
    "cloudbuild.googleapis.com",       # builds the Go source
    "cloudfunctions.googleapis.com",
    "iam.googleapis.com",            # service accounts, custom roles
    "iamcredentials.googleapis.com", # signBlob, at every signature the presign function makes
    "pubsub.googleapis.com",
    "run.googleapis.com", # gen2 functions are Cloud Run services
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])
}

data "google_project" "this" {
  project_id = var.project
}

resource "google_project_service" "this" {
  for_each = var.enable_apis ? local.apis : toset([])

  project = var.project
  service = each.value
  # Other workloads in the project may use these APIs too.
  disable_on_destroy = false
}

# --- Function source -----------------------------------------------------------

resource "google_storage_bucket" "source" {
  project  = var.project
  name     = "${var.project}-${var.name}-source"
  location = var.region
  labels   = var.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # It only ever holds the module's own source zip.
  force_destroy = true

  depends_on = [google_project_service.this]
}

resource "google_storage_bucket_object" "source" {
  bucket = google_storage_bucket.source.name
  # The zip's hash in the name: a new zip is a new object, which changes the
  # functions' build source and so redeploys them.
  name   = "${var.name}/gcp-source-${filemd5(var.source_zip)}.zip"
  source = var.source_zip
}

# --- Configuration -------------------------------------------------------------

resource "google_secret_manager_secret" "config" {
  count = local.create_secret ? 1 : 0

  project   = var.project
  secret_id = "${var.name}-config"
  labels    = var.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.this]
}

resource "google_secret_manager_secret_version" "config" {
  count = local.create_secret ? 1 : 0

  secret = google_secret_manager_secret.config[0].id
  # Kept in Terraform state, like every sensitive value: protect the state.
  secret_data = var.config

  lifecycle {
    # The functions move to the new version before the old one is destroyed,
    # so no instance starting in between reads a destroyed version.
    create_before_destroy = true
  }
}
