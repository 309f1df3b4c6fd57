// A user-assigned managed identity; main.bicep creates one per host (Function App, GPU Container App).
@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags resourceInput<'Microsoft.Resources/resourceGroups@2025-04-01'>.tags

@description('Managed identity name.')
param name string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output name string = identity.name
output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
