################################################################################
# Optional custom host name (browsers)
################################################################################

# A browser sends the ClearML session cookie only to hosts of the ClearML domain: presign must answer
# on a subdomain of it for the web app's links to work (README "Browsers need a custom domain").
# Azure checks the DNS records (CNAME to default_hostname, TXT asuid.<host> with
# custom_domain_verification_id) when the binding is created, so they must exist before the apply
# that sets custom_hostname.

locals {
  custom_hostname_enabled = var.custom_hostname != null
}

resource "azurerm_app_service_custom_hostname_binding" "this" {
  count = local.custom_hostname_enabled ? 1 : 0

  hostname            = var.custom_hostname
  app_service_name    = azurerm_linux_function_app.this.name
  resource_group_name = var.resource_group_name

  lifecycle {
    # Set by azurerm_app_service_certificate_binding below, once the certificate exists.
    ignore_changes = [ssl_state, thumbprint]
  }
}

# Free certificate issued and renewed by App Service for the bound host name.
resource "azurerm_app_service_managed_certificate" "this" {
  count = local.custom_hostname_enabled ? 1 : 0

  custom_hostname_binding_id = azurerm_app_service_custom_hostname_binding.this[0].id
  tags                       = var.tags
}

resource "azurerm_app_service_certificate_binding" "this" {
  count = local.custom_hostname_enabled ? 1 : 0

  hostname_binding_id = azurerm_app_service_custom_hostname_binding.this[0].id
  certificate_id      = azurerm_app_service_managed_certificate.this[0].id
  ssl_state           = "SniEnabled"
}
