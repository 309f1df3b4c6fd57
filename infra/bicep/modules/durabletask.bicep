// Optional Durable Task Scheduler (DTS) backend for the scale described in the README: a scheduler with one task hub
// and data-plane roles for the two hosts' identities, scoped to that task hub. Provisioning it does not switch the
// app over: host.json must select storageProvider type "azureManaged" with the connection setting
// DURABLE_TASK_SCHEDULER_CONNECTION_STRING (main.bicep sets it per host when this module is on), and the Functions
// project must reference Microsoft.Azure.Functions.Worker.Extensions.DurableTask.AzureManaged (see README).
@description('Region of the scheduler.')
param location string

@description('Tags applied to every resource.')
param tags resourceInput<'Microsoft.Resources/resourceGroups@2025-04-01'>.tags

@description('Scheduler name (3-64 letters, digits, hyphens).')
@minLength(3)
@maxLength(64)
param name string

@description('Task hub name (the same RoleGen__Durable__TaskHubName the app uses).')
param taskHubName string

@description('Scheduler SKU: Consumption (pay per action) or Dedicated (capacity units).')
@allowed([
  'Consumption'
  'Dedicated'
])
param skuName string = 'Consumption'

@description('Resource id of the Function App identity (gets Durable Task Data Contributor: it starts, queries, terminates and purges instances).')
param functionsIdentityId string

@description('Principal id of the Function App identity.')
param functionsPrincipalId string

@description('Resource id of the GPU worker identity (gets Durable Task Worker: it only processes work items).')
param gpuIdentityId string

@description('Principal id of the GPU worker identity.')
param gpuPrincipalId string

// Built-in Durable Task roles.
var durableTaskDataContributorRoleId = '0ad04412-c4d5-4796-b79c-f76d14c8d402'
var durableTaskWorkerRoleId = '80d0d6b0-f522-40a4-8886-a5a11720c375'

resource scheduler 'Microsoft.DurableTask/schedulers@2026-02-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // An empty allow list denies all traffic; access is controlled by the Entra ID roles below.
    ipAllowlist: [
      '0.0.0.0/0'
    ]
    sku: skuName == 'Dedicated'
      ? {
          name: 'Dedicated'
          capacity: 1
        }
      : {
          name: 'Consumption'
        }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2026-02-01' = {
  parent: scheduler
  name: taskHubName
}

resource functionsDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(taskHub.id, functionsIdentityId, durableTaskDataContributorRoleId)
  scope: taskHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributorRoleId)
    principalId: functionsPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource gpuWorker 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(taskHub.id, gpuIdentityId, durableTaskWorkerRoleId)
  scope: taskHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskWorkerRoleId)
    principalId: gpuPrincipalId
    principalType: 'ServicePrincipal'
  }
}

@description('Scheduler endpoint (https://<name>.<region>.durabletask.io).')
output endpoint string = scheduler.properties.endpoint
