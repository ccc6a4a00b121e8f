# Retention sweeper (README "Retention sweeper"): the Sweep timer function lives in the same app as
# Presign and Cleanup (the package's Sweep/function.json). Its schedule comes from the app setting
# STORAGEGATE_SWEEP_SCHEDULE; with sweep_schedule null the function is disabled (the host still needs a
# valid schedule to load it). Its files go to the cleanup queue through AzureWebJobsStorage's
# connection string, the one the queue trigger uses: no further grant.

locals {
  sweep_app_settings = {
    STORAGEGATE_SWEEP_SCHEDULE    = coalesce(var.sweep_schedule, "0 0 3 1 1 *")
    STORAGEGATE_AZURE_QUEUE       = azurerm_storage_queue.cleanup.name
    "AzureWebJobs.Sweep.Disabled" = var.sweep_schedule == null ? "true" : "false"
  }
}
