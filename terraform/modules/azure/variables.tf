################################################################################
# Placement and naming
################################################################################

variable "resource_group_name" {
  description = "Name of an existing resource group that receives every resource of the module."
  type        = string

  validation {
    condition     = can(regex("^[-\\w.()]{1,89}[-\\w()]$", var.resource_group_name))
    error_message = "resource_group_name must be 1 to 90 letters, digits, underscores, hyphens, periods or parentheses, not ending in a period."
  }
}

variable "location" {
  description = "Azure region of the resources, e.g. \"westeurope\"."
  type        = string

  validation {
    condition     = length(trimspace(var.location)) > 0
    error_message = "location must not be empty."
  }
}

variable "name" {
  description = "Prefix of every resource name. Names that Azure wants globally unique (function app, storage account, key vault) get a six-character suffix derived from the subscription, the resource group and this name, so one deployment keeps its names across applies."
  type        = string
  default     = "storagegate"

  validation {
    # The key vault name "<name, cut to 17>-<suffix>" must stay within 24 characters, start with a letter
    # and hold no "--"; the storage account name takes the letters and digits of the first 18.
    condition     = can(regex("^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 1 to 24 lower-case letters, digits or single hyphens, start with a letter and end with a letter or digit."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
}

################################################################################
# Package and configuration
################################################################################

variable "package_zip" {
  description = "Path of the custom-handler package built by `make package` (bin/package/azure-app.zip): handler, host.json, Presign/function.json, Cleanup/function.json, Sweep/function.json. It is uploaded under a name holding its SHA-256, so a new build redeploys the app."
  type        = string

  validation {
    condition     = endswith(var.package_zip, ".zip")
    error_message = "package_zip must be the path of a .zip file (bin/package/azure-app.zip)."
  }

  validation {
    condition     = fileexists(var.package_zip)
    error_message = "package_zip names no file: run `make package` at the repository root first."
  }
}

variable "config" {
  description = "The storagegate configuration document (YAML or JSON, README \"Configuration\"). Stored as a Key Vault secret; the app reads it through a Key Vault reference in STORAGEGATE_CONFIG, never as a plain app setting. It is also kept in the Terraform state: protect the state accordingly."
  type        = string
  sensitive   = true

  validation {
    # try: a null config fails here with this message rather than with trimspace's.
    condition     = try(length(trimspace(var.config)) > 0, false)
    error_message = "config must hold the configuration document."
  }

  validation {
    # Key Vault's limit for a secret value.
    condition     = try(length(var.config) <= 25600, true)
    error_message = "config must be at most 25 KiB (Key Vault's limit for a secret)."
  }
}

variable "key_vault_purge_protection_enabled" {
  description = "Turn on purge protection for the key vault that holds the configuration. With it a deleted vault (and the config in it) can only be recovered, never purged, for the retention period; the vault's name stays taken meanwhile, so `terraform destroy` followed by `apply` with the same name fails until it expires. Soft delete is always on (90 days, Azure's default)."
  type        = bool
  default     = false
}

################################################################################
# Artifact storage the functions sign for and delete from
################################################################################

variable "artifact_containers" {
  description = "Blob containers holding ClearML artifacts: the app's managed identity may read (and so sign user-delegation SAS URLs for) and delete blobs in exactly these. storage_account_id is the account's resource ID. Entries of the config that use an account_key do not need to be listed here; entries without one do."
  type = list(object({
    storage_account_id = string
    container_name     = string
  }))
  default = []

  validation {
    condition = alltrue([for c in var.artifact_containers :
      can(regex("(?i)^/subscriptions/[0-9a-f-]{36}/resourceGroups/[-\\w.()]+/providers/Microsoft\\.Storage/storageAccounts/[a-z0-9]{3,24}$", c.storage_account_id))
    ])
    error_message = "Each storage_account_id must be a storage account resource ID: /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<account>."
  }

  validation {
    # No empty name for "every container of the account": the grant is per container on purpose.
    condition = alltrue([for c in var.artifact_containers :
      can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", c.container_name)) && !strcontains(c.container_name, "--")
    ])
    error_message = "Each container_name must be a container name (3 to 63 lower-case letters, digits or single hyphens); list every container, there is no account-wide entry."
  }

  validation {
    condition = length(var.artifact_containers) == length(distinct([for c in var.artifact_containers :
      "${lower(c.storage_account_id)}/${c.container_name}"
    ]))
    error_message = "artifact_containers must not list a container twice."
  }
}

################################################################################
# Function app
################################################################################

variable "sku" {
  description = "App Service plan SKU of the Linux function app: \"Y1\" (Consumption, the default), \"EP1\"-\"EP3\" (Elastic Premium) or a Dedicated SKU (B, S, P*v2, P*v3). Flex Consumption (FC1) is another resource type and is not supported by this module."
  type        = string
  default     = "Y1"

  validation {
    condition = contains([
      "Y1",
      "EP1", "EP2", "EP3",
      "B1", "B2", "B3",
      "S1", "S2", "S3",
      "P1v2", "P2v2", "P3v2",
      "P0v3", "P1v3", "P2v3", "P3v3",
      "P1mv3", "P2mv3", "P3mv3", "P4mv3", "P5mv3",
    ], var.sku)
    error_message = "sku must be Y1, EP1-EP3, B1-B3, S1-S3, P1v2-P3v2, P0v3-P3v3 or P1mv3-P5mv3."
  }
}

variable "application_insights_connection_string" {
  description = "Connection string of an Application Insights resource that receives the functions' logs (the JSON lines on stderr). Without it the logs of a Consumption app are not kept anywhere."
  type        = string
  default     = null
  sensitive   = true
}

################################################################################
# Browser use and ClearML
################################################################################

variable "custom_hostname" {
  description = "Host name on a subdomain of the ClearML domain, e.g. presign.clearml.example.com, bound to the app with a free App Service managed certificate. Browsers send the ClearML cookie only there (README \"Browsers need a custom domain\"). Before setting it, create the DNS records: CNAME <hostname> -> the default_hostname output, and TXT asuid.<hostname> = the custom_domain_verification_id output. null: the app answers on its azurewebsites.net name only (scripts with Authorization work there)."
  type        = string
  default     = null

  validation {
    condition     = var.custom_hostname == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$", var.custom_hostname))
    error_message = "custom_hostname must be a lower-case DNS name such as presign.clearml.example.com."
  }
}

variable "presign_match_regex" {
  description = "Regex of the match_sets rule in the clearml_services_setting output: which storage links the ClearML web app sends to presign."
  type        = string
  default     = "^azure://"

  validation {
    # regexall, not regex: regex fails on no match, so it could not tell a bad pattern from a good one.
    condition     = can(regexall(var.presign_match_regex, ""))
    error_message = "presign_match_regex must be a valid regular expression."
  }
}

# Sweeper

variable "sweep_schedule" {
  description = "NCRONTAB schedule (six fields, with seconds; UTC unless WEBSITE_TIME_ZONE) of the retention sweeper, e.g. \"0 0 3 * * *\"; null disables the Sweep function. The policy is the config's sweep section (sweep.older_than must be set)."
  type        = string
  default     = null

  validation {
    condition     = var.sweep_schedule == null || length(split(" ", trimspace(coalesce(var.sweep_schedule, "x")))) == 6
    error_message = "sweep_schedule must be a six-field NCRONTAB expression such as \"0 0 3 * * *\"."
  }
}
