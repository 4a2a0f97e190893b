# A budget alert on the course's project: the billing account's administrators get an e-mail when the month's cost
# reaches 50 %, 90 % and 100 % of budget_amount, and when the forecast reaches 100 %. It warns; it does not stop
# spending (week 3's notebook 03 says what things cost, and what to switch off after the course).
# Created only when you give your billing account (`gcloud billing accounts list`):
#   terraform apply -var project=YOUR_PROJECT_ID -var billing_account=XXXXXX-XXXXXX-XXXXXX
# Once, before: `gcloud services enable billingbudgets.googleapis.com`, and with your own login (ADC) a quota
# project for the Budget API: `gcloud auth application-default set-quota-project YOUR_PROJECT_ID`.
data "google_project" "course" {}

resource "google_billing_budget" "course" {
  count           = var.billing_account == null ? 0 : 1
  billing_account = var.billing_account
  display_name    = "zoomcamp ${var.project}"

  budget_filter {
    projects = ["projects/${data.google_project.course.number}"]
  }

  amount {
    specified_amount {
      units = tostring(var.budget_amount) # in the billing account's currency
    }
  }

  threshold_rules {
    threshold_percent = 0.5
  }
  threshold_rules {
    threshold_percent = 0.9
  }
  threshold_rules {
    threshold_percent = 1.0
  }
  threshold_rules {
    threshold_percent = 1.0
    spend_basis       = "FORECASTED_SPEND"
  }
}
