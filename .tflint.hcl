# tflint's bundled terraform ruleset, every rule on (the aws, google and azurerm rulesets are
# GitHub downloads, out of reach here). Used by scripts/terraform-check.sh on every module and example.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
