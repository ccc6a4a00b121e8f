terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.28.0 is the first release whose aws_lambda_function_url, for authorization_type NONE, adds
      # both resource-policy statements that AWS requires of function URLs created since October 2025
      # (lambda:InvokeFunctionUrl and lambda:InvokeFunction with lambda:InvokedViaFunctionUrl); older
      # releases add only the first, and the URL answers 403. See presign.tf.
      version = ">= 6.28.0"
    }
  }
}
