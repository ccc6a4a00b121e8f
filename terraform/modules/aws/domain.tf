################################################################################
# Optional custom domain: CloudFront in front of the function URL
################################################################################

# Why: a browser sends the ClearML session cookie only to hosts under the ClearML domain, and a bare
# *.lambda-url.<region>.on.aws URL is another site (README "Browsers need a custom domain").
# A function URL takes no custom domain of its own, so CloudFront serves it as e.g.
# presign.clearml.example.com. DNS is left to the caller: CNAME the name to cloudfront_domain_name.
#
# Forwarding: caching off, and everything the function reads reaches it (Authorization, Cookie,
# the whole query string, Origin and Accept) except the viewer's Host header, which a function URL
# refuses (it must be the URL's own host). That is exactly AWS's managed pair CachingDisabled +
# AllViewerExceptHostHeader, the origin request policy AWS made for function URL and API Gateway
# origins ("Use managed origin request policies", CloudFront Developer Guide). An origin request
# policy cannot list Authorization by name (CloudFront answers 400), but one that forwards all viewer
# headers includes it, and with caching turned off AWS documents AllViewer and
# AllViewerExceptHostHeader as the way to forward it (AWS re:Post knowledge center "How can I
# configure CloudFront to forward the Authorization header to the origin?"; CloudFront Developer
# Guide "HTTP 401 status code (Unauthorized)"). Authorization cannot go into the cache key instead:
# a policy with caching disabled takes no cache key headers. Legacy forwarded_values with TTLs of 0
# would work too, but every header the function reads (Authorization, Accept, Content-Type, Origin,
# the CORS preflight headers) would have to be listed by name, and AWS recommends the policies.
data "aws_cloudfront_cache_policy" "caching_disabled" {
  count = var.custom_domain == null ? 0 : 1
  name  = "Managed-CachingDisabled"
}

data "aws_cloudfront_origin_request_policy" "all_viewer_except_host" {
  count = var.custom_domain == null ? 0 : 1
  name  = "Managed-AllViewerExceptHostHeader"
}

resource "aws_cloudfront_distribution" "presign" {
  count = var.custom_domain == null ? 0 : 1

  enabled         = true
  comment         = "storagegate presign: ${local.presign_function_name}" # at most 128 characters
  aliases         = [var.custom_domain.domain_name]
  is_ipv6_enabled = true
  http_version    = "http2and3"
  price_class     = var.custom_domain.price_class

  origin {
    origin_id = "presign-function-url"
    # The function URL's host: https://<id>.lambda-url.<region>.on.aws/ without scheme and slash.
    domain_name = trimsuffix(trimprefix(aws_lambda_function_url.presign.function_url, "https://"), "/")

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  default_cache_behavior {
    target_origin_id       = "presign-function-url"
    viewer_protocol_policy = "redirect-to-https"
    # CloudFront accepts only these sets; this one includes POST (the batch form) and OPTIONS
    # (CORS preflights, answered by the function URL).
    allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods           = ["GET", "HEAD"]
    cache_policy_id          = data.aws_cloudfront_cache_policy.caching_disabled[0].id
    origin_request_policy_id = data.aws_cloudfront_origin_request_policy.all_viewer_except_host[0].id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    acm_certificate_arn      = var.custom_domain.acm_certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }

  tags = var.tags
}
