# Identities of the functions and what each may do. Every grant is on one
# named resource (a bucket, the secret, a service account), never on the
# project: the custom roles below are defined in the project but bound only
# on those resources.

# --- presign -------------------------------------------------------------------

resource "google_service_account" "presign" {
  project      = var.project
  account_id   = "${var.name}-presign"
  display_name = "storagegate presign"
  description  = "Runs the presign function and signs Cloud Storage URLs as itself (IAM signBlob)."

  depends_on = [google_project_service.this]
}

# The presign function has no key file: with no credentials_json in the
# config it signs V4 URLs by asking IAM to sign with its own identity
# (iamcredentials signBlob). That needs iam.serviceAccounts.signBlob on
# itself and nothing more, so a custom role with that one permission, not
# Service Account Token Creator (which also mints access and ID tokens).
resource "google_project_iam_custom_role" "sign_blob" {
  project     = var.project
  role_id     = "${replace(var.name, "-", "_")}_signBlob"
  title       = "${var.name} sign blob"
  description = "Sign bytes as a service account (V4 signed URLs without a key file)."
  permissions = ["iam.serviceAccounts.signBlob"]

  depends_on = [google_project_service.this]
}

resource "google_service_account_iam_member" "presign_signs_as_itself" {
  service_account_id = google_service_account.presign.name
  role               = google_project_iam_custom_role.sign_blob.name
  member             = google_service_account.presign.member
}

# A V4 signed URL carries its signer's permission: the URL works only if the
# presign identity may read the object itself.
resource "google_storage_bucket_iam_member" "presign_reads_artifacts" {
  for_each = var.artifact_buckets

  bucket = each.value
  role   = "roles/storage.objectViewer"
  member = google_service_account.presign.member
}

resource "google_secret_manager_secret_iam_member" "presign_reads_config" {
  project   = var.project
  secret_id = local.config_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.presign.member
}

# --- cleanup -------------------------------------------------------------------

resource "google_service_account" "cleanup" {
  project      = var.project
  account_id   = "${var.name}-cleanup"
  display_name = "storagegate cleanup"
  description  = "Runs the cleanup function: lists and deletes artifacts in the configured buckets."

  depends_on = [google_project_service.this]
}

# Exactly the three JSON API calls the deleter makes: list a prefix, read an
# object's metadata (the `created` guard), delete. roles/storage.objectAdmin
# would add create, overwrite and ACL changes.
resource "google_project_iam_custom_role" "artifact_deleter" {
  project     = var.project
  role_id     = "${replace(var.name, "-", "_")}_artifactDeleter"
  title       = "${var.name} artifact deleter"
  description = "List, read metadata of and delete objects (storagegate cleanup)."
  permissions = [
    "storage.objects.delete",
    "storage.objects.get",
    "storage.objects.list",
  ]

  depends_on = [google_project_service.this]
}

resource "google_storage_bucket_iam_member" "cleanup_deletes_artifacts" {
  for_each = var.artifact_buckets

  bucket = each.value
  role   = google_project_iam_custom_role.artifact_deleter.name
  member = google_service_account.cleanup.member
}

resource "google_secret_manager_secret_iam_member" "cleanup_reads_config" {
  project   = var.project
  secret_id = local.config_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.cleanup.member
}

# --- build ---------------------------------------------------------------------

# A build_service_account of the caller's choosing must read the source zip;
# the default build identity already reads the project's buckets.
resource "google_storage_bucket_iam_member" "build_reads_source" {
  count = var.build_service_account == null ? 0 : 1

  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${var.build_service_account}"
}
