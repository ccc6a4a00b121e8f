terraform {
  required_version = ">= 1.9" # validations that refer to other variables

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.77.0"
    }
  }
}

# The subscription comes from the environment (ARM_SUBSCRIPTION_ID, or the Azure CLI's current one
# after `az login`), so the example holds no account details.
provider "azurerm" {
  features {}
}
