"""The v2 job side: batch endpoint invoke, pipeline job resources, run history."""
