# The AWS alternative to the GCP bucket: an S3 data lake with versioning and a lifecycle rule.
# Credentials come from the AWS CLI's configuration (`aws configure`), never from this folder.
terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region"
  type        = string
  default     = "eu-west-1"
}

variable "bucket_name" {
  description = "Globally unique name of the data-lake bucket"
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "S3 bucket names are 3-63 lower-case letters, digits, dots or hyphens."
  }
}

variable "retention_days" {
  description = "Delete lake objects older than this many days"
  type        = number
  default     = 30
}

resource "aws_s3_bucket" "data_lake" {
  bucket        = var.bucket_name
  force_destroy = true
}

resource "aws_s3_bucket_versioning" "data_lake" {
  bucket = aws_s3_bucket.data_lake.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "data_lake" {
  bucket = aws_s3_bucket.data_lake.id
  rule {
    id     = "expire-raw-files"
    status = "Enabled"
    filter {}
    expiration {
      days = var.retention_days
    }
  }
}

output "bucket" {
  value = aws_s3_bucket.data_lake.bucket
}
