terraform {
  required_version = ">= 1.6"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 6.50 is the provider whose schema every argument here was checked against.
      version = ">= 6.50"
    }
  }
}
